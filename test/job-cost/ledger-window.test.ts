import { describe, expect, it } from 'vitest';
import { getBuffer } from '../../shared/store/read.js';
import type { K8sObjectChange } from '../../shared/platform/trigger.js';
import { run } from '../../functions/job-cost/handler.js';
import type { CostRecord } from '../../functions/job-cost/cost-record.js';
import { LEDGER_WINDOW_SLACK_MS } from '../../functions/job-cost/merge.js';
import { loadEvent } from '../support/events.js';
import { fixture, settings, tempStore, testDeps } from './support.js';

// Apache Spark's application_1578436911597_0052 (shared fixtures' SOURCES.md): a 139.764 s app in 2020,
// the app events/job-cost/driver-pod-succeeded.json names, whose pod ran for 2,841 s in 2025.
const APP = 'application_1578436911597_0052';
const APP_START = 1578764662851;
const APP_END = 1578764802615;
const EXECUTOR_ADDED = 1578764769706;
const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');

type Pod = { metadata: { name: string; labels: Record<string, string> }; status: { startTime: string; containerStatuses: { state: { terminated: { startedAt: string; finishedAt: string } } }[] } };

/** The sample driver pod change, its times moved to `start` and `end` when given. */
function driverPod(times?: { start: number; end: number }): K8sObjectChange {
  const change = structuredClone(loadEvent('job-cost/driver-pod-succeeded')) as K8sObjectChange & { object: Pod };
  if (times) {
    change.object.status.startTime = iso(times.start);
    change.object.status.containerStatuses[0]!.state.terminated.startedAt = iso(times.start);
    change.object.status.containerStatuses[0]!.state.terminated.finishedAt = iso(times.end);
  }
  return change;
}

/** An executor pod of the app, made from the driver sample. */
function executorPod(id: string, start: number, end: number): K8sObjectChange {
  const change = driverPod({ start, end }) as K8sObjectChange & { object: Pod };
  change.object.metadata.name = `etl-orders-daily-exec-${id}`;
  change.object.metadata.labels = { ...change.object.metadata.labels, 'spark-role': 'executor', 'spark-exec-id': id };
  return change;
}

async function cost(changes: K8sObjectChange[]): Promise<CostRecord> {
  const store = await tempStore();
  await store.put(`spark-events/${APP}`, await fixture(APP));
  const deps = testDeps(store);
  const options = await settings();
  await run({ kind: 'k8s-objects', source: 'test', changes }, deps, options);
  const summary = await run({ kind: 'http', source: 'test', method: 'POST', path: '/job-cost/app-end', query: {}, headers: {}, body: Buffer.from(JSON.stringify({ appId: APP, namespace: 'spark-jobs' })) }, deps, options);
  expect(summary).toMatchObject({ recorded: 1, failed: 0 });
  return JSON.parse((await getBuffer(store, summary.records[0]!.key)).toString('utf8')) as CostRecord;
}

describe('job-cost fits ledger lifetimes to the event log\'s window', () => {
  it('does not bill a 2020 app\'s driver for a 2025 pod of the same name: flagged, the log\'s times stand', async () => {
    const record = await cost([driverPod()]);
    expect(record.anomalies).toEqual(['ledger-outside-event-log']);
    const driver = record.pods.find((p) => p.role === 'driver')!;
    expect(driver).toMatchObject({ seconds: 139.764, lifetimeFrom: 'event-log', flags: ['ledger-outside-event-log'], podName: 'etl-orders-daily-driver' });
    expect(record.driver!.seconds).toBe(139.764);
    expect(record.end).toBe(new Date(APP_END).toISOString());
  });

  it('bills a driver pod\'s start-up and shut-down around the app as the ledger saw them', async () => {
    // Pod times are whole seconds.
    const start = Math.floor((APP_START - 2 * 60_000) / 1000) * 1000;
    const end = Math.floor((APP_END + 20_000) / 1000) * 1000;
    const record = await cost([driverPod({ start, end })]);
    expect(record.anomalies).toEqual([]);
    expect(record.pods.find((p) => p.role === 'driver')).toMatchObject({ lifetimeFrom: 'ledger', start: new Date(start).toISOString(), end: new Date(end).toISOString(), seconds: (end - start) / 1000 });
  });

  it('clips an executor pod that outlived the app by more than the slack to ApplicationEnd, and says so', async () => {
    const start = EXECUTOR_ADDED - (EXECUTOR_ADDED % 1000);
    const record = await cost([executorPod('1', start, APP_END + LEDGER_WINDOW_SLACK_MS + 3_600_000)]);
    expect(record.anomalies).toEqual(['ledger-outside-event-log']);
    expect(record.pods.find((p) => p.role === 'executor')).toMatchObject({ executorId: '1', lifetimeFrom: 'ledger', start: new Date(start).toISOString(), end: new Date(APP_END).toISOString(), flags: ['ledger-outside-event-log'] });
    expect(record.executorSeconds).toBeCloseTo((APP_END - start) / 1000, 3);
  });
});
