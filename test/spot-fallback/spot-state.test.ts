import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { legacyAppStateKey } from '../../functions/spot-fallback/app-state.js';
import { legacyBreakerKey } from '../../functions/spot-fallback/breaker-store.js';
import { probeRunKey, putSignal, signalKey, type SignalFact } from '../../functions/spot-fallback/facts.js';
import { readSpotState } from '../../functions/spot-fallback/load-facts.js';
import { breakerState, CLOSED, recordSignal } from '../../functions/spot-fallback/spot-breaker.js';
import { deriveState, emptyFactSet, type FactSet, PRUNE_AFTER_MS, prunableKeys } from '../../functions/spot-fallback/spot-state.js';
import { silentLogger } from '../../shared/logger.js';
import { tempStore, testSettings } from './harness.js';

const settings = testSettings({ openThreshold: 2 });
const MIN = 60_000;
const IDS = ['cn-hangzhou-h/ecs.c6.xlarge', 'cn-hangzhou-i/ecs.c6.xlarge'];

function factSet(signals: SignalFact[], runs: { pod: string; at: number; breakers: string[] }[] = []): FactSet {
  const facts = emptyFactSet();
  for (const s of signals) facts.signals.set(signalKey(s), s);
  for (const r of runs) facts.probeRuns.set(probeRunKey(r.pod), r);
  return facts;
}

const signalArb = fc.record({
  pod: fc.constantFrom('p1', 'p2', 'p3', 'p4', 'p5'),
  at: fc.integer({ min: 0, max: 60 * MIN }),
  breakers: fc.subarray(IDS, { minLength: 1 }),
});

describe('spot-fallback state from facts', () => {
  it('is the same whatever order the facts were written in (property)', () => {
    fc.assert(
      fc.property(fc.array(signalArb, { maxLength: 30 }), fc.array(fc.integer({ min: 0, max: 60 * MIN }), { maxLength: 3 }), fc.integer(), (raw, runTimes, seed) => {
        const signals: SignalFact[] = raw.map((s) => ({ kind: 'stock-out', reason: 'NoStock', capacity: 'spot', ...s }));
        const runs = runTimes.map((at, i) => ({ pod: `probe-${i}`, at, breakers: IDS }));
        const shuffled = [...signals].sort((a, b) => ((a.at * 31 + seed) % 7) - ((b.at * 31 + seed) % 7));
        expect(deriveState(factSet(shuffled, [...runs].reverse()), settings)).toEqual(deriveState(factSet(signals, runs), settings));
      }),
      { numRuns: 200 },
    );
  });

  it('folds in event time: a probe that ran while half-open closes, a later signal reopens one step longer', () => {
    const signal = (pod: string, at: number): SignalFact => ({ kind: 'stock-out', reason: 'NoStock', pod, at, capacity: 'spot', breakers: [IDS[0]!] });
    const open = deriveState(factSet([signal('a', 0), signal('b', 1000)]), settings).breakers.get(IDS[0]!)!.capacity.spot!;
    expect(breakerState(open, 2000)).toBe('open');
    const closed = deriveState(factSet([signal('a', 0), signal('b', 1000)], [{ pod: 'probe', at: 4 * MIN, breakers: [IDS[0]!] }]), settings);
    expect(closed.breakers.get(IDS[0]!)!.capacity.spot!.openUntil).toBeUndefined();
    const failed = deriveState(factSet([signal('a', 0), signal('b', 1000), signal('c', 4 * MIN)]), settings).breakers.get(IDS[0]!)!.capacity.spot!;
    expect(failed.level).toBe(2);
    expect(failed.openUntil).toBe(4 * MIN + 6 * MIN);
  });

  it('rolls up only facts older than the horizon whose breakers ended closed, and the state stays what it was', () => {
    const now = 3 * PRUNE_AFTER_MS;
    const signal = (pod: string, at: number, breakers = [IDS[0]!]): SignalFact => ({ kind: 'stock-out', reason: 'NoStock', pod, at, capacity: 'spot', breakers });
    // IDS[0]: opened long ago, closed by a probe long ago, opened again recently. IDS[1]: open long ago, never probed.
    const old = [signal('a', 0), signal('b', 1000), signal('x', 2000, [IDS[1]!]), signal('y', 3000, [IDS[1]!])];
    const recent = [signal('c', now - 2 * MIN), signal('d', now - MIN)];
    const run = { pod: 'probe', at: 5 * MIN, breakers: [IDS[0]!] };
    const facts = factSet([...old, ...recent], [run]);
    const before = deriveState(facts, settings);
    const pruned = prunableKeys(facts, before, now, settings);
    expect(pruned.sort()).toEqual([signalKey(old[0]!), signalKey(old[1]!), probeRunKey('probe')].sort());
    const rest = factSet([...old.slice(2), ...recent]);
    const after = deriveState(rest, settings);
    for (const id of IDS) {
      const { signals: _a, ...b } = before.breakers.get(id)!.capacity.spot!;
      const { signals: _b, ...a } = after.breakers.get(id)!.capacity.spot!;
      expect(a, id).toEqual(b);
    }
    // The roll-up does not depend on what an instance has seen lately: without the recent facts, the same keys.
    expect(prunableKeys(factSet(old, [run]), deriveState(factSet(old, [run]), settings), now, settings).sort()).toEqual(pruned.sort());
  });

  describe('the previous layout (read for one release)', () => {
    let temp: Awaited<ReturnType<typeof tempStore>>;
    beforeEach(async () => {
      temp = await tempStore();
    });
    afterEach(async () => {
      await temp.dispose();
    });

    it('reads state/spot-breaker/ files and whole-app objects, and folds new facts on top', async () => {
      const at = Date.UTC(2025, 4, 14, 2, 0);
      const legacy = recordSignal(CLOSED, { at, pod: 'old-pod', reason: 'NoStock' }, at, settings);
      await temp.store.put(legacyBreakerKey('cn-hangzhou-h', 'ecs.c6.xlarge'), JSON.stringify({ location: 'cn-hangzhou-h', spec: 'ecs.c6.xlarge', capacity: { spot: legacy } }));
      await temp.store.put(legacyAppStateKey('spark-jobs', 'spark-app-a'), JSON.stringify({ reclaims: { 'cn-hangzhou-h': 2 }, reclaimedPods: ['u1', 'u2'], recycles: [] }));
      await temp.store.put(legacyBreakerKey('cn-hangzhou-i', 'ecs.c6.xlarge'), 'not json');
      await putSignal(temp.store, { kind: 'stock-out', reason: 'NoStock', pod: 'new-pod', at: at + MIN, capacity: 'spot', breakers: ['cn-hangzhou-h/ecs.c6.xlarge'] });

      const state = await readSpotState(temp.store, silentLogger, settings);
      const spot = state.breakers.get('cn-hangzhou-h/ecs.c6.xlarge')!.capacity.spot!;
      expect(spot.level).toBe(1);
      // The new pod's signal while open extends the open time at the same step.
      expect(spot.openUntil).toBe(at + MIN + settings.openTtlMs);
      expect(spot.signals.map((s) => s.pod)).toEqual(['old-pod', 'new-pod']);
      expect(state.apps.get('spark-jobs/spark-app-a')).toEqual({ reclaims: { 'cn-hangzhou-h': 2 }, reclaimedPods: ['u1', 'u2'], recycles: [] });
      expect(state.breakers.has('cn-hangzhou-i/ecs.c6.xlarge')).toBe(false);
    });
  });
});
