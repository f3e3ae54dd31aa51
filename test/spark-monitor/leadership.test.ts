import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../shared/logger.js';
import { Metrics } from '../../shared/metrics.js';
import { FileObjectStore } from '../../shared/store/fs-store.js';
import { run } from '../../functions/spark-monitor/handler.js';
import { DEFAULT_MONITOR_SETTINGS } from '../../functions/spark-monitor/settings.js';
import { appSpec, NOW, objectsOf } from './cluster.js';

const gauges = async (metrics: Metrics) => (await metrics.text()).split('\n').filter((l) => l.startsWith('sparkfn_monitor_apps{'));

describe('spark-monitor under serve\'s leadership', () => {
  it('exports nothing before a change arrives, the watched apps while it leads, and forgets them when its lease ends', async () => {
    const metrics = new Metrics();
    const term = new AbortController();
    const deps = { store: new FileObjectStore('/tmp/spark-monitor-leadership-unused'), metrics, logger: silentLogger, clock: { now: () => NOW }, signal: term.signal };
    expect(await gauges(metrics)).toEqual([]);

    const changes = [0, 1, 6].flatMap((i) => objectsOf(appSpec(i))).map((object) => ({ type: 'ADDED' as const, object: object as never }));
    await run({ kind: 'k8s-objects', source: 'k8s:watch', changes }, deps, DEFAULT_MONITOR_SETTINGS);
    expect((await gauges(metrics)).sort()).toEqual(['sparkfn_monitor_apps{namespace="spark-a",state="running"} 2', 'sparkfn_monitor_apps{namespace="spark-a",state="succeeded"} 1']);

    term.abort();
    expect(await gauges(metrics)).toEqual([]);
    // The next term's watches start from their own list: only what they deliver counts.
    const next = new AbortController();
    await run({ kind: 'k8s-objects', source: 'k8s:watch', changes: changes.slice(0, 3) }, { ...deps, signal: next.signal }, DEFAULT_MONITOR_SETTINGS);
    expect(await gauges(metrics)).toEqual(['sparkfn_monitor_apps{namespace="spark-a",state="running"} 1']);
  });
});
