import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { getBuffer } from '../../shared/store/read.js';
import { run } from '../../functions/job-cost/handler.js';
import type { CostRecord } from '../../functions/job-cost/cost-record.js';
import { DATA_DIR, fixture, lz4BlockEncode, settings, snappyJavaEncode, tempStore, testDeps } from './support.js';

/** SOURCES.md's independently computed figures: executors and executor core-seconds. */
const REFERENCE = [
  ['application_1506645932520_24630151', 7, 434.871],
  ['application_1553914137147_0018', 3, 154.113],
  ['application_1555004656427_0144', 2, 14.141],
  ['application_1578436911597_0052', 1, 131.636],
] as const;

const post = (appId: string) => ({ kind: 'http' as const, source: 'test', method: 'POST', path: '/job-cost/app-end', query: {}, headers: {}, body: Buffer.from(JSON.stringify({ appId, namespace: 'spark-jobs' })) });

async function costOf(appId: string, objects: Record<string, Buffer>): Promise<CostRecord> {
  const store = await tempStore();
  for (const [key, body] of Object.entries(objects)) await store.put(key, body);
  const summary = await run(post(appId), testDeps(store), await settings());
  expect(summary.recorded).toBe(1);
  return JSON.parse((await getBuffer(store, summary.records[0]!.key)).toString('utf8')) as CostRecord;
}

describe('job-cost on Apache Spark\'s own event logs', () => {
  it.each(REFERENCE)('%s: %i executors, %d vCPU-seconds as SOURCES.md computes them', async (appId, executors, coreSeconds) => {
    const record = await costOf(appId, { [`spark-events/${appId}`]: await fixture(appId) });
    expect(record.executors).toBe(executors);
    expect(record.vcpuSeconds).toBeCloseTo(coreSeconds, 3);
    expect(record.source).toBe('event-log');
    expect(record.incomplete).toBe(false);
    expect(record.anomalies).toEqual([]);
    expect(record.cost?.currency).toBe('CNY');
    expect(record.cost!.total).toBeGreaterThan(0);
  });

  it('reads executor memory the way Spark on Kubernetes asks for it (7g heap + 1024 MiB overhead = 8 GiB)', async () => {
    const record = await costOf('application_1553914137147_0018', { 'spark-events/application_1553914137147_0018': await fixture('application_1553914137147_0018') });
    expect(record.gibSeconds).toBeCloseTo(154.113 * 8, 3);
  });

  it('takes an executor\'s cores from its resource profile (RP3: 4 cores)', async () => {
    const record = await costOf('application_1578436911597_0052', { 'spark-events/application_1578436911597_0052': await fixture('application_1578436911597_0052') });
    expect(record.pods.find((p) => p.role === 'executor')).toMatchObject({ executorId: '1', vcpu: 4, seconds: 32.909 });
    // RP3 gives no memory amount: spark.executor.memory is unset, so Spark's 1g + 384 MiB minimum overhead.
    expect(record.pods.find((p) => p.role === 'executor')!.gib).toBeCloseTo(1.375, 6);
  });

  it.each([
    ['zstd (file made by the zstd CLI)', 'application_1553914137147_0018.zstd', async () => readFile(join(DATA_DIR, 'application_1553914137147_0018.zstd'))],
    ['lz4 (LZ4BlockOutputStream)', 'application_1553914137147_0018.lz4', async () => lz4BlockEncode(await fixture('application_1553914137147_0018'), 4096)],
    ['snappy (SnappyOutputStream)', 'application_1553914137147_0018.snappy', async () => snappyJavaEncode(await fixture('application_1553914137147_0018'), 4096)],
    ['in progress, uncompressed', 'application_1553914137147_0018.inprogress', async () => fixture('application_1553914137147_0018')],
  ])('gives the same figures for a %s log', async (_what, name, make) => {
    const record = await costOf('application_1553914137147_0018', { [`spark-events/${name}`]: await make() });
    expect(record.executors).toBe(3);
    expect(record.vcpuSeconds).toBeCloseTo(154.113, 3);
    expect(record.incomplete).toBe(name.endsWith('.inprogress'));
  });

  it('reads a rolling log part after part, in index order (events_10 after events_2)', async () => {
    const appId = 'application_1506645932520_24630151';
    const lines = (await fixture(appId)).toString('utf8').split('\n').filter(Boolean);
    const cuts = [0, 10, 30, 50, lines.length];
    const objects: Record<string, Buffer> = {};
    const indexes = [1, 2, 10, 11];
    for (let i = 0; i < 4; i++) {
      const body = Buffer.from(lines.slice(cuts[i], cuts[i + 1]).join('\n') + '\n');
      objects[`spark-events/eventlog_v2_${appId}/events_${indexes[i]}_${appId}${i % 2 ? '.lz4' : ''}`] = i % 2 ? lz4BlockEncode(body) : body;
    }
    objects[`spark-events/eventlog_v2_${appId}/appstatus_${appId}`] = Buffer.alloc(0);
    const record = await costOf(appId, objects);
    expect(record.executors).toBe(7);
    expect(record.vcpuSeconds).toBeCloseTo(434.871, 3);
    expect(record.anomalies).toEqual([]);
  });
});
