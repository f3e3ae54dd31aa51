import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { legacyBreakerKey } from '../../functions/spot-fallback/breaker-store.js';
import { type Breaker, breakerState, claimProbe, CLOSED, openTtl, probeAvailable, recordSignal } from '../../functions/spot-fallback/spot-breaker.js';
import { InvalidInputError } from '../../shared/errors.js';
import { testSettings } from './harness.js';

const settings = testSettings();
const MIN = 60_000;
const signal = (pod: string, at: number) => ({ pod, at, reason: 'NoStock' });

describe('spot breaker', () => {
  it('opens on the first signal by default, for the 3-minute TTL, then goes half-open', () => {
    const open = recordSignal(CLOSED, signal('a', 0), 0, settings);
    expect(breakerState(open, 0)).toBe('open');
    expect(breakerState(open, 3 * MIN - 1)).toBe('open');
    expect(breakerState(open, 3 * MIN)).toBe('half-open');
  });

  it('with a threshold of 2 counts distinct pods inside the window only', () => {
    const s = testSettings({ openThreshold: 2 });
    let b = recordSignal(CLOSED, signal('a', 0), 0, s);
    b = recordSignal(b, signal('a', 1000), 1000, s);
    expect(breakerState(b, 1000)).toBe('closed');
    b = recordSignal(b, signal('b', s.signalWindowMs + 1), s.signalWindowMs + 1, s);
    expect(breakerState(b, s.signalWindowMs + 1)).toBe('closed');
    b = recordSignal(b, signal('c', s.signalWindowMs + 2), s.signalWindowMs + 2, s);
    expect(breakerState(b, s.signalWindowMs + 2)).toBe('open');
  });

  it('lets one probe through while half-open, and another once the probe timed out', () => {
    const open = recordSignal(CLOSED, signal('a', 0), 0, settings);
    expect(probeAvailable(open, 0, settings)).toBe(false);
    const t = 3 * MIN;
    expect(probeAvailable(open, t, settings)).toBe(true);
    const probing = claimProbe(open, 'p', t);
    expect(probeAvailable(probing, t + 1, settings)).toBe(false);
    expect(probeAvailable(probing, t + settings.probeTimeoutMs, settings)).toBe(true);
  });

  it('reopens a failed probe one backoff step longer: 3, 6, 12, 24, then 30 minutes at most', () => {
    let b: Breaker = CLOSED;
    let now = 0;
    const ttls: number[] = [];
    for (let i = 0; i < 6; i++) {
      b = recordSignal(b, signal(`pod-${i}`, now), now, settings);
      ttls.push((b.openUntil! - now) / MIN);
      now = b.openUntil!;
      expect(breakerState(b, now)).toBe('half-open');
    }
    expect(ttls).toEqual([3, 6, 12, 24, 30, 30]);
  });

  it('keeps the step while open: more pods failing in the same stock-out extend, not escalate', () => {
    const open = recordSignal(CLOSED, signal('a', 0), 0, settings);
    const again = recordSignal(open, signal('b', MIN), MIN, settings);
    expect(again.level).toBe(1);
    expect(again.openUntil).toBe(4 * MIN);
  });

  it('never opens longer than the cap, whatever the signals (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c', 'd'), fc.integer({ min: 0, max: 10 * MIN })), { maxLength: 40 }), (steps) => {
        let b: Breaker = CLOSED;
        let now = 0;
        for (const [pod, gap] of steps) {
          now += gap;
          b = recordSignal(b, signal(pod, now), now, settings);
          if (b.openUntil !== undefined) expect(b.openUntil - now).toBeLessThanOrEqual(settings.maxOpenTtlMs);
        }
        expect(openTtl(b.level, settings)).toBeLessThanOrEqual(settings.maxOpenTtlMs);
      }),
    );
  });

  it.each([['..', 'ecs.c6.xlarge'], ['cn-hangzhou-h', 'a/b'], ['', 'x'], ['zone\u0000', 'x']])('refuses %j / %j as key segments', (zone, spec) => {
    expect(() => legacyBreakerKey(zone, spec)).toThrow(InvalidInputError);
  });
});
