import { describe, expect, it } from 'vitest';
import type { CoreV1Event } from '@kubernetes/client-node';
import { silentLogger } from '../../shared/logger.js';
import { Metrics } from '../../shared/metrics.js';
import { FileObjectStore } from '../../shared/store/fs-store.js';
import { run } from '../../functions/spark-monitor/handler.js';
import { DEFAULT_MONITOR_SETTINGS } from '../../functions/spark-monitor/settings.js';
import { appSpec, NOW, objectsOf } from './cluster.js';

function event(uid: string, reason: string, pod: string, count = 1): CoreV1Event {
  return {
    metadata: { uid, name: `${pod}.${uid}`, namespace: 'spark-a' },
    involvedObject: { kind: 'Pod', namespace: 'spark-a', name: pod },
    reason,
    message: 'Create ECI failed: The resource in the specified zone is out of stock (NoStock).',
    count,
  } as CoreV1Event;
}

describe('spark-monitor: ECI create failures from pod events', () => {
  it('counts ProviderCreateFailed and stock-outs by the pod\'s zone, spec and reason, each event once; other events not', async () => {
    const metrics = new Metrics();
    const deps = { store: new FileObjectStore('/tmp/spark-monitor-eci-unused'), metrics, logger: silentLogger, clock: { now: () => NOW } };
    const app = appSpec(0);
    const executor = app.pods.find((p) => p.role === 'executor')!;
    await run({ kind: 'k8s-objects', source: 'test', changes: objectsOf(app).map((object) => ({ type: 'ADDED' as const, object: object as never })) }, deps, DEFAULT_MONITOR_SETTINGS);

    const events = [event('e1', 'ProviderCreateFailed', executor.name), event('e2', 'NoStock', 'spark-9999-exec-1'), event('e3', 'Scheduled', executor.name)];
    const first = await run({ kind: 'k8s-events', source: 'test', events }, deps, DEFAULT_MONITOR_SETTINGS);
    // kube-eventer re-sends the same event; a repeat of it (count 2) is a new failure.
    const again = await run({ kind: 'k8s-events', source: 'test', events: [events[0]!, event('e1', 'ProviderCreateFailed', executor.name, 2)] }, deps, DEFAULT_MONITOR_SETTINGS);

    expect(first).toMatchObject({ mode: 'events', applied: 2, ignored: 1 });
    expect(again).toMatchObject({ applied: 1, ignored: 1 });
    const lines = (await metrics.text()).split('\n').filter((l) => l.startsWith('sparkfn_monitor_eci_create_failures_total{'));
    expect(lines.sort()).toEqual([
      `sparkfn_monitor_eci_create_failures_total{zone="${executor.zone}",instance_type="${executor.spec}",reason="ProviderCreateFailed"} 2`,
      'sparkfn_monitor_eci_create_failures_total{zone="unknown",instance_type="unknown",reason="NoStock"} 1',
    ].sort());
  });
});
