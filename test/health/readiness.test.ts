import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ComponentDownError, Readiness } from '../../shared/health/readiness.js';
import { Metrics } from '../../shared/metrics.js';

function setup(exitAfterSeconds = 3600) {
  const lines: { level: number; msg: string; component?: string }[] = [];
  const logger = pino({ level: 'info' }, new Writable({ write: (chunk, _e, done) => (lines.push(JSON.parse(String(chunk))), done()) }));
  const metrics = new Metrics();
  let now = 1_000_000;
  const readiness = new Readiness({ logger, metrics, exitAfterSeconds, now: () => now });
  return { readiness, lines, metrics, advance: (ms: number) => (now += ms) };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('readiness', () => {
  it('is not ready until every part reported up, and shows each part', async () => {
    const { readiness, metrics } = setup();
    const store = readiness.component('store');
    const kafka = readiness.component('kafka-consumer');
    expect(readiness.ready).toBe(false);
    expect(readiness.snapshot()['store']).toMatchObject({ up: false, reason: 'starting' });
    store.up();
    expect(readiness.ready).toBe(false);
    kafka.up();
    expect(readiness.ready).toBe(true);
    expect(await metrics.text()).toMatch(/^sparkfn_component_up\{component="kafka-consumer"\} 1$/m);
    readiness.close();
  });

  it('logs a change of state once, not every report of the same state, and keeps the latest reason', () => {
    const { readiness, lines } = setup();
    const watch = readiness.component('watch /api/v1/pods');
    for (let i = 0; i < 5; i++) watch.down('the apiserver refused the watch (401)', 'Unauthorized');
    watch.down('the watch is reconnecting');
    expect(lines.filter((l) => l.component === 'watch /api/v1/pods')).toHaveLength(1);
    expect(readiness.snapshot()['watch /api/v1/pods']?.reason).toBe('the watch is reconnecting');
    watch.up();
    watch.up();
    watch.down('the apiserver refused the watch (403)');
    expect(lines.filter((l) => l.component === 'watch /api/v1/pods').map((l) => l.msg)).toEqual([
      'watch /api/v1/pods is down: the apiserver refused the watch (401)',
      'watch /api/v1/pods is up',
      'watch /api/v1/pods is down: the apiserver refused the watch (403)',
    ]);
    readiness.close();
  });

  it('marks a beating part down when the beats stop', () => {
    vi.useFakeTimers();
    const { readiness } = setup();
    const kafka = readiness.component('kafka-consumer');
    kafka.beat(50, 'no fetch or heartbeat');
    vi.advanceTimersByTime(40);
    kafka.beat(50, 'no fetch or heartbeat');
    vi.advanceTimersByTime(40);
    expect(readiness.ready).toBe(true);
    vi.advanceTimersByTime(20);
    expect(readiness.snapshot()['kafka-consumer']).toMatchObject({ up: false, reason: 'no fetch or heartbeat' });
    readiness.close();
  });

  it('fails with ComponentDownError once a part stayed down past the window, and not before', async () => {
    vi.useFakeTimers();
    const { readiness, advance } = setup(10);
    const store = readiness.component('store');
    store.up();
    store.down('the store does not answer');
    let failed: unknown;
    readiness.failed.catch((err: unknown) => (failed = err));
    advance(9_000);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(failed).toBeUndefined();
    advance(2_000);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(failed).toBeInstanceOf(ComponentDownError);
    expect((failed as ComponentDownError).component).toBe('store');
  });
});
