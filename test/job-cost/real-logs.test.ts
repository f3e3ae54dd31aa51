import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { decompress } from 'fzstd';
import { describe, expect, it } from 'vitest';
import { getBuffer } from '../../shared/store/read.js';
import type { ObjectStore } from '../../shared/store/object-store.js';
import { run } from '../../functions/job-cost/handler.js';
import type { CostRecord } from '../../functions/job-cost/cost-record.js';
import { DATA_DIR, settings, tempStore, testDeps } from './support.js';

/** NVIDIA/spark-rapids-tools' event logs (data/spark-rapids-tools/SOURCES.md). */
const RAPIDS = join(DATA_DIR, 'spark-rapids-tools');
const NS = 'spark-jobs';
const ATTEMPTED = 'application_1724877841851_0016';

/**
 * SOURCES.md's figures from core-seconds.py: log, app id, executors, executor core-seconds,
 * driver core-seconds, whether the log has ApplicationEnd.
 */
const REFERENCE = [
  ['application_1603128018386_7759.zstd', 'application_1603128018386_7759', 9, 616.162, 119.99, true],
  ['application_1707709865217_0493.zstd', 'application_1707709865217_0493', 15, 1993.48, 205.291, true],
  ['eventlog_v2_local-1623876083964', 'local-1623876083964', 0, 0, 1606.284, true],
  ['local-1634253215009.zstd', 'local-1634253215009', 0, 0, 376.504, true],
  ['local-1622043423018', 'local-1622043423018', 0, 0, 73.368, false],
] as const;

const ATTEMPTS = [
  ['1', 10, 1067.718, 42.664],
  ['2', 10, 1057.014, 42.469],
  ['3', 10, 1114.185, 44.261],
  ['4', 10, 1093.875, 43.657],
] as const;

const post = (appId: string) => ({ kind: 'http' as const, source: 'test', method: 'POST', path: '/job-cost/app-end', query: {}, headers: {}, body: Buffer.from(JSON.stringify({ appId, namespace: NS })) });

/** Puts a file, or a rolling log's folder, from data/spark-rapids-tools into the store under `spark-events/<as>`. */
async function putLog(store: ObjectStore, name: string, as = name): Promise<void> {
  const path = join(RAPIDS, name);
  if ((await stat(path)).isDirectory()) {
    for (const file of await readdir(path)) await store.put(`spark-events/${as}/${file}`, await readFile(join(path, file)));
  } else await store.put(`spark-events/${as}`, await readFile(path));
}

async function costOf(appId: string, put: (store: ObjectStore) => Promise<void>): Promise<CostRecord> {
  const store = await tempStore();
  await put(store);
  const summary = await run(post(appId), testDeps(store), await settings());
  expect(summary).toMatchObject({ recorded: 1, failed: 0 });
  return JSON.parse((await getBuffer(store, summary.records[0]!.key)).toString('utf8')) as CostRecord;
}

const TIME_KEYS = new Set(['Timestamp', 'Submission Time', 'Completion Time', 'Launch Time', 'Finish Time', 'Getting Result Time', 'time']);
function* timesIn(value: unknown): Generator<number> {
  if (Array.isArray(value)) for (const inner of value) yield* timesIn(inner);
  else if (value && typeof value === 'object')
    for (const [key, inner] of Object.entries(value)) {
      if (TIME_KEYS.has(key) && typeof inner === 'number' && inner >= 1e11) yield inner;
      yield* timesIn(inner);
    }
}

const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);

describe('job-cost on NVIDIA/spark-rapids-tools event logs', () => {
  it.each(REFERENCE)('%s (%s): %i executors, %d executor and %d driver core-seconds as core-seconds.py computes them', async (name, appId, executors, executorCoreSeconds, driverCoreSeconds, ended) => {
    const record = await costOf(appId, (store) => putLog(store, name));
    expect(record.executors).toBe(executors);
    expect(record.vcpuSeconds).toBeCloseTo(executorCoreSeconds, 3);
    expect(record.driver!.vcpuSeconds).toBeCloseTo(driverCoreSeconds, 3);
    expect(record.source).toBe('event-log');
    expect(record.incomplete).toBe(!ended);
    // ApplicationStart written after events with later times (BlockManagerAdded, local mode's
    // ExecutorAdded for `driver`) is how Spark writes a log, not an anomaly.
    expect(record.anomalies).toEqual([]);
    expect(record.attempts).toBeUndefined();
  });

  it('counts a local-mode driver once, as the driver with all local cores, not again as executor "driver"', async () => {
    const record = await costOf('local-1634253215009', (store) => putLog(store, 'local-1634253215009.zstd'));
    expect(record.pods).toHaveLength(1);
    expect(record.pods[0]).toMatchObject({ role: 'driver', vcpu: 8, seconds: 47.063, flags: ['local-mode'] });
    expect(record.cost!.executors).toBe(0);
    expect(record.cost!.total).toBe(record.cost!.driver);
  });

  it('costs a cut-off log to the newest task time in it, not to its last top-level Timestamp', async () => {
    const record = await costOf('local-1622043423018', (store) => putLog(store, 'local-1622043423018'));
    // core-seconds.py: the newest time of any complete line is 1622043428457 (a task's Finish Time);
    // the last top-level Timestamp, local mode's ExecutorAdded, is 1622043423204.
    expect(record.end).toBe(new Date(1622043428457).toISOString());
    expect(record.pods[0]).toMatchObject({ role: 'driver', seconds: 6.114, vcpu: 12 });
  });

  it('costs the executors of a dynamic-allocation log cut mid-run up to the last task that finished before the cut', async () => {
    const full = Buffer.from(decompress(await readFile(join(RAPIDS, 'application_1707709865217_0493.zstd'))));
    const cut = full.subarray(0, Math.floor(full.length * 0.6));
    const kept = cut.toString('utf8').split('\n').slice(0, -1).map((l) => JSON.parse(l) as Record<string, unknown>);
    // Independently of the code under test, as core-seconds.py does: the newest time any kept line carries.
    const newest = Math.max(...kept.flatMap((e) => [...timesIn(e)]));
    const lastTopLevel = Math.max(...kept.map((e) => (typeof e.Timestamp === 'number' ? e.Timestamp : 0)));
    expect(newest - lastTopLevel).toBeGreaterThan(1000);
    const added = new Map<string, { at: number; cores: number }>();
    const removed = new Map<string, number>();
    for (const e of kept) {
      if (e.Event === 'SparkListenerExecutorAdded') added.set(e['Executor ID'] as string, { at: e.Timestamp as number, cores: (e['Executor Info'] as { 'Total Cores': number })['Total Cores'] });
      if (e.Event === 'SparkListenerExecutorRemoved') removed.set(e['Executor ID'] as string, e.Timestamp as number);
    }
    const expected = sum([...added].map(([id, { at, cores }]) => (cores * ((removed.get(id) ?? newest) - at)) / 1000));

    const record = await costOf('application_1707709865217_0493', async (store) => store.put('spark-events/application_1707709865217_0493.inprogress', cut));
    expect(record.incomplete).toBe(true);
    // The cut fell inside a TaskEnd, a line never parsed: the missing newline tells.
    expect(record.anomalies).toEqual(['truncated-last-line']);
    expect(record.executors).toBe(added.size);
    expect(record.vcpuSeconds).toBeCloseTo(expected, 3);
    expect(record.end).toBe(new Date(newest).toISOString());
  });
});

describe('job-cost on an event log named by attempt (YARN cluster mode, spark.app.attempt.id)', () => {
  it('finds every attempt, costs each and says so', async () => {
    const record = await costOf(ATTEMPTED, async (store) => {
      for (const [attempt] of ATTEMPTS) await putLog(store, `${ATTEMPTED}_${attempt}.zstd`);
    });
    expect(record.attempts).toEqual(['1', '2', '3', '4']);
    expect(record.executors).toBe(40);
    expect(record.vcpuSeconds).toBeCloseTo(sum(ATTEMPTS.map((a) => a[2])), 3);
    expect(record.vcpuSeconds).toBeCloseTo(4332.792, 3);
    expect(record.driver!.vcpuSeconds).toBeCloseTo(173.051, 3);
    expect(record.pods.filter((p) => p.role === 'driver').map((p) => p.attempt)).toEqual(['1', '2', '3', '4']);
    for (const [attempt, executors] of ATTEMPTS) expect(record.pods.filter((p) => p.role === 'executor' && p.attempt === attempt)).toHaveLength(executors);
    // From attempt 1's ApplicationStart to attempt 4's ApplicationEnd.
    expect(record.start).toBe(new Date(1724884534755).toISOString());
    expect(record.end).toBe(new Date(1724884717231).toISOString());
    expect(record).toMatchObject({ source: 'event-log', incomplete: false, anomalies: [], errors: [] });
    expect(record.cost!.total).toBeGreaterThan(0);
  });

  it('costs a lone attempt-suffixed log instead of a quiet zero', async () => {
    const record = await costOf(ATTEMPTED, (store) => putLog(store, `${ATTEMPTED}_2.zstd`));
    expect(record.attempts).toEqual(['2']);
    expect(record.executors).toBe(10);
    expect(record.vcpuSeconds).toBeCloseTo(1057.014, 3);
    expect(record.source).toBe('event-log');
  });

  it('finds attempts of a rolling log (eventlog_v2_<appId>_<attempt>/events_<n>_<appId>_<attempt>)', async () => {
    const record = await costOf(ATTEMPTED, async (store) => {
      for (const attempt of ['1', '2']) {
        const name = `${ATTEMPTED}_${attempt}`;
        await store.put(`spark-events/eventlog_v2_${name}/events_1_${name}.zstd`, await readFile(join(RAPIDS, `${name}.zstd`)));
        await store.put(`spark-events/eventlog_v2_${name}/appstatus_${name}`, Buffer.alloc(0));
      }
    });
    expect(record.attempts).toEqual(['1', '2']);
    expect(record.vcpuSeconds).toBeCloseTo(1067.718 + 1057.014, 3);
  });

  it('does not take another app whose id starts with this one for an attempt', async () => {
    const record = await costOf(ATTEMPTED, async (store) => {
      await putLog(store, `${ATTEMPTED}_1.zstd`);
      await store.put(`spark-events/${ATTEMPTED}1.zstd`, await readFile(join(RAPIDS, `${ATTEMPTED}_2.zstd`)));
    });
    expect(record.attempts).toEqual(['1']);
    expect(record.vcpuSeconds).toBeCloseTo(1067.718, 3);
  });
});
