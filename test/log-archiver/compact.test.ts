import fc from 'fast-check';
import { gunzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ArchiveSummary } from '../../functions/log-archiver/archive-batch.js';
import { compactedKey } from '../../functions/log-archiver/chunk-key.js';
import { compactApp, run, type CompactionSummary } from '../../functions/log-archiver/handler.js';
import { DEFAULT_SETTINGS } from '../../functions/log-archiver/settings.js';
import type { CoreV1Event } from '@kubernetes/client-node';
import type { FileObjectStore } from '../../shared/store/fs-store.js';
import type { ObjectStore } from '../../shared/store/object-store.js';
import { getBuffer } from '../../shared/store/read.js';
import { loadEvent } from '../support/events.js';
import { APP_ID, batch, depsFor, executorLine, filebeatValue, keys, linesOf, record, tempStore, text, withIndexes } from './support.js';

let store: FileObjectStore;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ store, cleanup } = await tempStore()));
afterEach(async () => cleanup());

const stderr1 = compactedKey(APP_ID, '1', 'stderr');

/** Records 0..n-1 of partition `partition`: executor 1 writes the even offsets, executor 2 the odd ones. */
function partitionRecords(from: number, to: number, partition = 0) {
  const records = [];
  for (let o = from; o < to; o++) records.push(record(o, executorLine(`p${partition} line ${o}`, { executorId: o % 2 === 0 ? '1' : '2' }), { partition }));
  return records;
}

async function archive(records: ReturnType<typeof partitionRecords>, s: ObjectStore = store, settings = {}): Promise<ArchiveSummary> {
  return (await run(batch(records), depsFor(s), settings)) as ArchiveSummary;
}

async function compact(s: ObjectStore = store): Promise<CompactionSummary> {
  return compactApp(APP_ID, depsFor(s), DEFAULT_SETTINGS);
}

const expectedLines = (executor: 1 | 2, from: number, to: number, partition = 0) =>
  Array.from({ length: to - from }, (_, i) => from + i)
    .filter((o) => o % 2 === (executor === 1 ? 0 : 1))
    .map((o) => `p${partition} line ${o}`);

describe('log-archiver compaction', () => {
  it('merges an executor stream into one gzip object in offset order, then deletes its chunks', async () => {
    await archive(partitionRecords(0, 10));
    await archive(partitionRecords(10, 20));
    await archive(partitionRecords(20, 24));
    expect((await keys(store)).length).toBe(6);
    const summary = await compact();
    expect(summary).toMatchObject({ kind: 'compaction', compacted: 2, deleted: 6, lines: 24, dropped: 0, failed: 0 });
    expect(await keys(store)).toEqual(withIndexes([stderr1, compactedKey(APP_ID, '2', 'stderr')]));
    expect(linesOf(await text(store, stderr1))).toEqual(expectedLines(1, 0, 24));
    const info = await store.head(stderr1);
    expect(info).toMatchObject({ contentType: 'text/plain; charset=utf-8', contentEncoding: 'gzip' });
    expect(info!.metadata).toMatchObject({ 'line-count': '12', 'offset-ranges': 'spark-logs:0:0-22', namespace: 'spark-jobs', 'app-name': 'etl-orders-daily' });
  });

  it('drops exact re-deliveries: a batch delivered again, split differently, leaves each line once', async () => {
    await archive(partitionRecords(0, 10));
    await archive(partitionRecords(0, 5));
    await archive(partitionRecords(5, 10));
    await archive(partitionRecords(3, 14));
    const summary = await compact();
    expect(summary.dropped).toBe(17);
    expect(linesOf(await text(store, stderr1))).toEqual(expectedLines(1, 0, 14));
    expect(linesOf(await text(store, compactedKey(APP_ID, '2', 'stderr')))).toEqual(expectedLines(2, 0, 14));
    expect(await keys(store)).toEqual(withIndexes([stderr1, compactedKey(APP_ID, '2', 'stderr')]));
  });

  it('merges chunks that arrive after a compaction into the compacted object', async () => {
    await archive(partitionRecords(0, 10));
    await compact();
    await archive(partitionRecords(10, 16));
    await archive(partitionRecords(8, 12));
    const summary = await compact();
    expect(summary).toMatchObject({ compacted: 2, dropped: 4 });
    expect(linesOf(await text(store, stderr1))).toEqual(expectedLines(1, 0, 16));
    expect((await store.head(stderr1))!.metadata['offset-ranges']).toBe('spark-logs:0:0-14');
  });

  it('appends late chunks that follow in order by composing the objects as stored', async () => {
    await archive(partitionRecords(0, 10));
    await compact();
    const before = await getBuffer(store, stderr1);
    await archive(partitionRecords(10, 16));
    const [chunk] = await keys(store, `logs/${APP_ID}/1/stderr/`);
    const chunkBytes = await getBuffer(store, chunk!);
    await compact();
    expect((await getBuffer(store, stderr1)).equals(Buffer.concat([before, chunkBytes]))).toBe(true);
  });

  it('keeps (partition, offset) order when a late chunk belongs before what is there', async () => {
    await archive(partitionRecords(0, 6, 1));
    await compact();
    await archive(partitionRecords(0, 6, 0));
    await compact();
    expect(linesOf(await text(store, stderr1))).toEqual([...expectedLines(1, 0, 6, 0), ...expectedLines(1, 0, 6, 1)]);
  });

  it('converges after a crash between writing the compacted object and deleting the chunks', async () => {
    await archive(partitionRecords(0, 10));
    await archive(partitionRecords(10, 20));
    const crashing = Object.create(store) as ObjectStore;
    crashing.deleteMany = async () => {
      throw new Error('injected: the process died here');
    };
    await expect(compact(crashing)).rejects.toThrow(/failed for all 2/);
    expect(linesOf(await text(store, stderr1))).toEqual(expectedLines(1, 0, 20));
    expect((await keys(store, `logs/${APP_ID}/1/stderr/`)).length).toBe(2);
    const again = await compact();
    expect(again).toMatchObject({ compacted: 2, dropped: 20, deleted: 4 });
    expect(linesOf(await text(store, stderr1))).toEqual(expectedLines(1, 0, 20));
    expect(await keys(store)).toEqual(withIndexes([stderr1, compactedKey(APP_ID, '2', 'stderr')]));
  });

  it('leaves everything as it was when the compacted object cannot be written', async () => {
    await archive(partitionRecords(0, 10));
    await archive(partitionRecords(0, 4));
    const before = await keys(store);
    const broken = Object.create(store) as ObjectStore;
    broken.put = broken.compose = async () => {
      throw new Error('injected: write refused');
    };
    await expect(compact(broken)).rejects.toThrow();
    expect(await keys(store)).toEqual(before);
    await compact();
    expect(linesOf(await text(store, stderr1))).toEqual(expectedLines(1, 0, 10));
  });

  it('keeps the chunks when the compacted object does not hold every line, merging again once', async () => {
    await archive(partitionRecords(0, 10));
    await archive(partitionRecords(10, 20));
    const lossy = Object.create(store) as ObjectStore;
    // A store that loses the last part of what it is given, and writes nothing of a merge.
    lossy.compose = async (sources, to, options) => store.compose(sources.slice(0, -1), to, options);
    lossy.put = async (key, body, options) => store.put(key, key.endsWith('.log.gz') ? Buffer.alloc(0) : body, options);
    await expect(compact(lossy)).rejects.toThrow(/failed for all 2/);
    expect((await keys(store, `logs/${APP_ID}/1/stderr/`)).length).toBe(2);
    await compact();
    expect(linesOf(await text(store, stderr1))).toEqual(expectedLines(1, 0, 20));
  });

  it('compacts executors idle for the configured time on the schedule', async () => {
    await archive(partitionRecords(0, 4));
    const deps = depsFor(store);
    deps.clock.set(Date.now());
    expect(await run({ kind: 'schedule', source: 'local', time: deps.clock.now() }, deps, {})).toMatchObject({ kind: 'compaction', trigger: 'idle', compacted: 0 });
    deps.clock.advance(DEFAULT_SETTINGS.compactIdleMs + 1000);
    expect(await run({ kind: 'schedule', source: 'local', time: deps.clock.now() }, deps, {})).toMatchObject({ compacted: 2, deleted: 2 });
    expect(await keys(store)).toEqual(withIndexes([stderr1, compactedKey(APP_ID, '2', 'stderr')]));
  });

  it('compacts an app when the Spark operator says it completed', async () => {
    await archive([record(1, filebeatValue('container-driver')), ...partitionRecords(2, 6)]);
    const otherApp = filebeatValue('container-executor', (e) => {
      const labels = (e.kubernetes as { labels: Record<string, string> }).labels;
      labels['spark-app-selector'] = 'spark-0000000000000000000000000000000a';
      labels['spark-app-name'] = 'etl-orders-hourly';
      // Another SparkApplication's pod: the operator's label names it too (it is what an app end is matched on first).
      labels['sparkoperator_k8s_io/app-name'] = 'etl-orders-hourly';
    });
    await run(batch([record(1, otherApp, { partition: 5 })]), depsFor(store), {});
    const event = loadEvent('k8s/event') as CoreV1Event;
    const summary = (await run({ kind: 'k8s-events', source: 'local', events: [event] }, depsFor(store), {})) as CompactionSummary;
    expect(summary).toMatchObject({ trigger: 'app-end', compacted: 3 });
    expect(await keys(store, `logs/${APP_ID}/`)).toEqual(withIndexes([compactedKey(APP_ID, '1', 'stderr'), compactedKey(APP_ID, '2', 'stderr'), compactedKey(APP_ID, 'driver', 'stderr')]));
    expect(await keys(store, 'logs/spark-0000000000000000000000000000000a/')).toHaveLength(1);
  });

  it('compacts an app when its driver pod ended', async () => {
    await archive([record(1, filebeatValue('container-driver')), ...partitionRecords(2, 4)]);
    const event = {
      metadata: { uid: 'e1', namespace: 'spark-jobs' },
      involvedObject: { kind: 'Pod', namespace: 'spark-jobs', name: 'etl-orders-daily-driver' },
      reason: 'Completed',
    } as CoreV1Event;
    const other = { ...event, involvedObject: { ...event.involvedObject, name: 'etl-orders-daily-7d3f9a2b1c8e4f60-exec-1' } } as CoreV1Event;
    expect(await run({ kind: 'k8s-events', source: 'local', events: [other] }, depsFor(store), {})).toMatchObject({ compacted: 0 });
    expect(await run({ kind: 'k8s-events', source: 'local', events: [event] }, depsFor(store), {})).toMatchObject({ compacted: 3 });
  });

  it('stops taking streams once the deadline signal fired, leaving them for the next run', async () => {
    await archive(partitionRecords(0, 4));
    const controller = new AbortController();
    controller.abort();
    const summary = await compactApp(APP_ID, depsFor(store, { signal: controller.signal }), DEFAULT_SETTINGS);
    expect(summary).toMatchObject({ compacted: 0, skipped: 2 });
    expect((await keys(store)).length).toBe(2);
  });

  it('does not run two compactions of one stream at once in a process', async () => {
    await archive(partitionRecords(0, 10));
    await archive(partitionRecords(5, 10));
    const [a, b] = await Promise.all([compact(), compact()]);
    expect(a.compacted + b.compacted).toBe(2);
    expect(a.skipped + b.skipped).toBe(2);
    expect(linesOf(await text(store, stderr1))).toEqual(expectedLines(1, 0, 10));
  });

  it('writes a compacted object that any gzip reader reads whole', async () => {
    await archive(partitionRecords(0, 10));
    await archive(partitionRecords(4, 12));
    await compact();
    expect(gunzipSync(await getBuffer(store, stderr1)).toString()).toBe(`${expectedLines(1, 0, 12).join('\n')}\n`);
  });

  it('keeps every record exactly once whatever the re-deliveries, splits and interrupted compactions', async () => {
    const step = fc.oneof(
      fc.record({ kind: fc.constant('batch' as const), from: fc.nat(39), length: fc.integer({ min: 1, max: 15 }) }),
      fc.record({ kind: fc.constant('compact' as const), crash: fc.constantFrom('none', 'before-delete', 'no-write') }),
    );
    await fc.assert(
      // Small members (a few lines each) make chunks of several members, as large batches have.
      fc.asyncProperty(fc.array(step, { maxLength: 8 }), fc.constantFrom(undefined, 40, 90), async (steps, maxMemberTextBytes) => {
        const { store: s, cleanup: done } = await tempStore();
        const settings = maxMemberTextBytes ? { maxMemberTextBytes } : {};
        try {
          for (const st of steps) {
            if (st.kind === 'batch') await archive(partitionRecords(st.from, Math.min(40, st.from + st.length)), s, settings);
            else if (st.crash === 'none') await compact(s);
            else {
              const crashing = Object.create(s) as ObjectStore;
              if (st.crash === 'before-delete') crashing.deleteMany = async () => Promise.reject(new Error('crash'));
              else crashing.put = crashing.compose = async () => Promise.reject(new Error('crash'));
              await compact(crashing).catch(() => undefined);
            }
          }
          await archive(partitionRecords(0, 40), s);
          await compact(s);
          expect(linesOf(await text(s, stderr1))).toEqual(expectedLines(1, 0, 40));
          expect(linesOf(await text(s, compactedKey(APP_ID, '2', 'stderr')))).toEqual(expectedLines(2, 0, 40));
          expect(await keys(s)).toEqual(withIndexes([stderr1, compactedKey(APP_ID, '2', 'stderr')]));
        } finally {
          await done();
        }
      }),
      { numRuns: 60 },
    );
  });
});
