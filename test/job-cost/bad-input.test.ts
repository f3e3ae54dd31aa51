import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { getBuffer } from '../../shared/store/read.js';
import type { K8sObjectChange } from '../../shared/platform/trigger.js';
import { run } from '../../functions/job-cost/handler.js';
import type { CostRecord } from '../../functions/job-cost/cost-record.js';
import { validatePriceFile } from '../../functions/job-cost/price-file.js';
import { buildReport } from '../../functions/job-cost/report.js';
import { DATA_DIR, fixture, lz4BlockEncode, settings, tempStore, testDeps } from './support.js';

const APP = 'application_1553914137147_0018';
const NS = 'spark-jobs';
const post = (appId: string, endTime?: number) => ({
  kind: 'http' as const, source: 'test', method: 'POST', path: '/job-cost/app-end', query: {}, headers: {},
  body: Buffer.from(JSON.stringify({ appId, namespace: NS, ...(endTime !== undefined ? { endTime } : {}) })),
});
const lines = async () => (await fixture(APP)).toString('utf8').split('\n').filter(Boolean);
const log = (ls: string[]) => Buffer.from(ls.join('\n') + '\n');

async function cost(objects: Record<string, Buffer>, extra: { changes?: K8sObjectChange[]; endTime?: number; appId?: string } = {}) {
  const store = await tempStore();
  for (const [key, body] of Object.entries(objects)) await store.put(key, body);
  const deps = testDeps(store);
  const options = await settings();
  if (extra.changes) await run({ kind: 'k8s-objects', source: 'test', changes: extra.changes }, deps, options);
  const summary = await run(post(extra.appId ?? APP, extra.endTime), deps, options);
  expect(summary.recorded).toBe(1);
  const record = JSON.parse((await getBuffer(store, summary.records[0]!.key)).toString('utf8')) as CostRecord;
  return { record, store, summary };
}

function executorPod(id: string, extra: { spec?: string; start: string; end?: string }): K8sObjectChange {
  return {
    type: extra.end ? 'MODIFIED' : 'ADDED',
    object: {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: `app-exec-${id}`,
        namespace: NS,
        labels: { 'spark-app-selector': APP, 'spark-role': 'executor', 'spark-exec-id': id },
        annotations: extra.spec ? { 'k8s.aliyun.com/eci-instance-spec': extra.spec } : {},
      },
      spec: { containers: [{ name: 'spark', resources: { requests: { cpu: '1', memory: '8Gi' } } }] },
      status: {
        phase: extra.end ? 'Succeeded' : 'Running',
        startTime: extra.start,
        ...(extra.end ? { containerStatuses: [{ state: { terminated: { finishedAt: extra.end } } }] } : {}),
      },
    },
  };
}

describe('job-cost on bad input', () => {
  it('costs a log whose last line was cut off to the newest time its events carry, and says it is incomplete', async () => {
    const ls = (await lines()).filter((l) => !l.includes('ApplicationEnd'));
    ls.pop();
    const { record } = await cost({ [`spark-events/${APP}.inprogress`]: Buffer.from(ls.join('\n') + '\n{"Event":"SparkListenerExecutorAdded","Timestamp":15547') });
    expect(record.incomplete).toBe(true);
    expect(record.anomalies).toContain('truncated-last-line');
    expect(record.executors).toBe(3);
    // Without ApplicationEnd the executors end at the newest time in the log: the last stage's
    // Completion Time, 1554756046447 (the last top-level Timestamp, an ExecutorAdded, is 51 s earlier).
    const end = 1554756046447;
    expect(record.vcpuSeconds).toBeCloseTo((end - 1554755994596 + end - 1554755995291 + end - 1554755995362) / 1000, 3);
    expect(record.end).toBe(new Date(end).toISOString());
  });

  it('ignores event types it does not know, without parsing them', async () => {
    const ls = await lines();
    ls.splice(5, 0, '{"Event":"com.example.CustomListenerEvent","Timestamp":1,"Executor ID":"9"}', '{"Event":"SparkListenerExecutorExcluded","Timestamp":2,"Executor ID":"1"}', 'not json at all');
    const { record } = await cost({ [`spark-events/${APP}`]: log(ls) });
    expect(record.vcpuSeconds).toBeCloseTo(154.113, 3);
    expect(record.anomalies).toEqual([]);
  });

  it('reports an ExecutorRemoved without its ExecutorAdded and a duplicate ExecutorAdded, counting each executor once', async () => {
    const ls = await lines();
    const added = ls.find((l) => l.includes('ExecutorAdded'))!;
    const end = ls.findIndex((l) => l.includes('ApplicationEnd'));
    ls.splice(end, 0, added, '{"Event":"SparkListenerExecutorRemoved","Timestamp":1554756000000,"Executor ID":"42","Removed Reason":"lost"}');
    const { record } = await cost({ [`spark-events/${APP}`]: log(ls) });
    expect(record.executors).toBe(3);
    expect(record.vcpuSeconds).toBeCloseTo(154.113, 3);
    expect(record.anomalies).toEqual(expect.arrayContaining(['duplicate-executor-added', 'executor-removed-without-added', 'out-of-order-timestamps']));
  });

  it('clamps an executor removed before it was added to zero seconds and flags it', async () => {
    const ls = await lines();
    const end = ls.findIndex((l) => l.includes('ApplicationEnd'));
    ls.splice(end, 0, '{"Event":"SparkListenerExecutorRemoved","Timestamp":1554755990000,"Executor ID":"1","Removed Reason":"clock skew"}');
    const { record } = await cost({ [`spark-events/${APP}`]: log(ls) });
    expect(record.pods.find((p) => p.executorId === '1')).toMatchObject({ seconds: 0, flags: ['negative-duration'] });
    expect(record.vcpuSeconds).toBeCloseTo(154.113 - 51.858, 3);
    expect(record.anomalies).toContain('negative-duration');
  });

  it('costs from the ledger alone when the event log is missing', async () => {
    const { record } = await cost({}, { changes: [executorPod('1', { start: '2026-01-02T00:00:00Z', end: '2026-01-02T00:01:40Z', spec: '1.0-8.0Gi' })] });
    expect(record).toMatchObject({ source: 'ledger', executors: 1, executorSeconds: 100, vcpuSeconds: 100, gibSeconds: 800, incomplete: false });
    expect(record.cost!.total).toBeCloseTo(100 * (0.00005 + 8 * 0.000005), 9);
  });

  it('costs from the event log alone when there is no ledger', async () => {
    const { record } = await cost({ [`spark-events/${APP}`]: await fixture(APP) });
    expect(record.source).toBe('event-log');
    expect(record.pods.every((p) => p.lifetimeFrom === 'event-log')).toBe(true);
  });

  it('writes a record that says so when there is neither a log nor a ledger, and counts the app as failed', async () => {
    const store = await tempStore();
    const deps = testDeps(store);
    const summary = await run(post(APP, Date.UTC(2026, 0, 5, 12)), deps, await settings());
    expect(summary).toMatchObject({ ends: 1, recorded: 0, failed: 1 });
    expect(summary.failures[0]).toContain(`${NS}/${APP}: Neither an event log (looked for spark-events/${APP}[_<attempt>][.<codec>][.inprogress] and spark-events/eventlog_v2_${APP}[_<attempt>]/`);
    const record = JSON.parse((await getBuffer(store, summary.records[0]!.key)).toString('utf8')) as CostRecord;
    expect(record).toMatchObject({ source: 'none', incomplete: true, executors: 0, cost: null, end: '2026-01-05T12:00:00.000Z' });
    expect(record.errors.join(' ')).toMatch(/Neither an event log .* nor ledger entries were found/);
    expect(await store.head(`costs/dt=2026-01-05/${NS}/${APP}.json`)).toBeDefined();
    expect(await deps.metrics.text()).toMatch(/sparkfn_job_cost_unsourced_total\{namespace="spark-jobs"\} 1/);
    expect(await deps.metrics.text()).toMatch(/sparkfn_job_cost_apps_total\{outcome="failed"\} 1/);
  });

  it('carries the error of a spec without a price, and the report shows it', async () => {
    const { record, store } = await cost(
      { [`spark-events/${APP}`]: await fixture(APP) },
      { changes: [executorPod('2', { start: '2019-04-08T20:39:55.291Z', end: '2019-04-08T20:40:46.454Z', spec: 'ecs.unknown.large' })] },
    );
    expect(record.errors.join(' ')).toMatch(/Executor 2: no price for instance spec ecs\.unknown\.large in region cn-hangzhou/);
    expect(record.pods.find((p) => p.executorId === '2')!.error).toMatch(/ecs\.unknown\.large/);
    expect(record.cost!.total).toBeGreaterThan(0);
    const report = await buildReport(store, { from: '2019-04-01', to: '2019-04-30', by: { kind: 'namespace' } });
    expect(report.rows[0]).toMatchObject({ group: NS, apps: 1, withErrors: 1 });
    expect(report.problems.join(' ')).toMatch(/ecs\.unknown\.large/);
  });

  it('reports a corrupt zstd file clearly and keeps what the other parts of a rolling log say', async () => {
    const zstd = await readFile(join(DATA_DIR, `${APP}.zstd`));
    const corrupt = Buffer.from(zstd);
    corrupt.fill(0xff, 40, 400);
    const ls = await lines();
    const dir = `spark-events/eventlog_v2_${APP}`;
    const { record } = await cost({
      [`${dir}/events_1_${APP}`]: log(ls.filter((l) => !l.includes('ApplicationEnd'))),
      [`${dir}/events_2_${APP}.zstd`]: corrupt,
      [`${dir}/events_3_${APP}.lz4`]: lz4BlockEncode(log(ls.filter((l) => l.includes('ApplicationEnd')))),
    });
    expect(record.errors).toHaveLength(1);
    expect(record.errors[0]).toMatch(new RegExp(`Event log ${dir}/events_2_${APP}\\.zstd \\(zstd\\) could not be read: zstd stream does not decode`));
    expect(record.incomplete).toBe(true);
    expect(record.vcpuSeconds).toBeCloseTo(154.113, 3);
  });

  it('reports a cut-off lz4 file as corrupt instead of failing the run', async () => {
    const whole = lz4BlockEncode(await fixture(APP), 8192);
    const { record } = await cost({ [`spark-events/${APP}.lz4`]: whole.subarray(0, whole.length - 5000) });
    expect(record.errors.join(' ')).toMatch(/lz4 stream ends inside a block/);
    expect(record.incomplete).toBe(true);
  });

  it('writes one record for duplicate end signals (idempotent by app id)', async () => {
    const store = await tempStore();
    await store.put(`spark-events/${APP}`, await fixture(APP));
    const deps = testDeps(store);
    const options = await settings();
    const first = await run(post(APP), deps, options);
    const second = await run(post(APP, Date.UTC(2019, 3, 9, 1)), deps, options);
    expect(second.records[0]!.key).toBe(first.records[0]!.key);
    const report = await buildReport(store, { from: '2019-01-01', to: '2019-12-31', by: { kind: 'namespace' } });
    expect(report.rows[0]!.apps).toBe(1);
  });

  it.each([
    [{ version: 'v', currency: 'CNY', defaultRegion: 'r', regions: { r: { onDemand: { vcpuSecond: 1, gibSecond: 1 }, specs: { 'ecs.c7.large': { onDemandSecond: 0 } } } } }, /region r, spec ecs\.c7\.large, onDemandSecond: onDemandSecond must be > 0/],
    [{ version: 'v', currency: 'yuan', defaultRegion: 'r', regions: { r: { onDemand: { vcpuSecond: 1, gibSecond: 1 } } } }, /currency: currency must be an ISO 4217 code/],
    [{ version: 'v', currency: 'CNY', defaultRegion: 'r', regions: { r: { onDemand: { vcpuSecond: 1, gibSecond: 1 }, rounding: { specs: ['2c4g'] } } } }, /region r, rounding.specs.0: a rounding spec looks like 2-4Gi/],
    [{ version: 'v', currency: 'CNY', defaultRegion: 'x', regions: { r: { onDemand: { vcpuSecond: -1, gibSecond: 1 } } } }, /region r, onDemand.vcpuSecond: vcpuSecond must be > 0; defaultRegion: defaultRegion must name one of the regions/],
  ])('refuses a price file naming the bad entry (%#)', (file, message) => {
    expect(() => validatePriceFile(file)).toThrow(message);
  });

  it('refuses a POST that is not an app end with a sentence', async () => {
    const store = await tempStore();
    await expect(run({ ...post(APP), body: Buffer.from('{"namespace":"x"}') }, testDeps(store), await settings())).rejects.toThrow(/appId/);
  });
});
