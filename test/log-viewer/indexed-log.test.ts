import fc from 'fast-check';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compactedKey } from '../../functions/log-archiver/chunk-key.js';
import { compactApp, run as archiverRun } from '../../functions/log-archiver/handler.js';
import { logIndexKey, readLogIndex, serializeLogIndex } from '../../functions/log-archiver/log-index.js';
import { DEFAULT_SETTINGS } from '../../functions/log-archiver/settings.js';
import { run } from '../../functions/log-viewer/handler.js';
import { type TimeRange, logTextInTimeRange, openIndexedLog, walkTimeRange } from '../../functions/log-viewer/indexed-log.js';
import { findLog, type LogSources, logText, sliceBytes, tailLines, textSize } from '../../functions/log-viewer/log-sources.js';
import type { HttpResult } from '../../shared/platform/trigger.js';
import type { FileObjectStore } from '../../shared/store/fs-store.js';
import type { ObjectStore } from '../../shared/store/object-store.js';
import { getBuffer, streamToBuffer } from '../../shared/store/read.js';
import { ByteCountingStore } from '../support/byte-counting-store.js';
import { APP_ID, batch, depsFor, executorLine, record, tempStore } from '../log-archiver/support.js';

let store: FileObjectStore;
let counted: ByteCountingStore;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ store, cleanup } = await tempStore());
  counted = new ByteCountingStore(store);
});
afterEach(async () => cleanup());

const LOG = `/logs/${APP_ID}/1/stderr`;
const OBJECT = compactedKey(APP_ID, '1', 'stderr');
const T0 = Date.UTC(2025, 4, 14, 2, 0);
/** A few records per member: many members, as a big log has. */
const SMALL_MEMBERS = { maxMemberTextBytes: 160 };

async function get(query: Record<string, string>, s: ObjectStore = counted): Promise<HttpResult & { bytes: Buffer }> {
  const result = await run({ kind: 'http', source: 'local', method: 'GET', path: LOG, query, headers: {}, body: Buffer.alloc(0) }, depsFor(s));
  const body = result.body;
  const bytes = body === undefined ? Buffer.alloc(0) : typeof body === 'string' || Buffer.isBuffer(body) ? Buffer.from(body) : await streamToBuffer(body as Readable);
  return { ...result, bytes };
}

/** Executor 1's stderr record at `offset`: one line, or a stack trace over several. */
function line(offset: number, partition = 0, shape = offset % 4) {
  const message =
    shape === 0 ? `25/05/14 02:${offset % 60} ERROR Executor: task ${offset} failed\n\tat org.apache.spark.scheduler.Task.run(Task.scala:${offset})\n\tat java.lang.Thread.run(Thread.java:750)` : shape === 1 ? `ümlaut ✓ line ${offset} of p${partition}` : `25/05/14 02:${offset % 60} INFO Executor: Running task ${offset}.0 in stage 1.0`;
  return record(offset, executorLine(message, { time: T0 + offset * 60_000 }), { partition });
}

async function archive(offsets: number[], partition = 0, settings = SMALL_MEMBERS): Promise<void> {
  await archiverRun(batch(offsets.map((o) => line(o, partition))), depsFor(store), settings);
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

async function sources(s: ObjectStore = store): Promise<LogSources> {
  const found = await findLog(s, APP_ID, '1', 'stderr');
  if ('missing' in found) throw new Error('no log');
  return found;
}

/** The answers of the old path, which reads the whole log. */
async function full(s: ObjectStore = store) {
  const src = await sources(s);
  const text = await streamToBuffer(Readable.from(logText(s, src)));
  return {
    text,
    size: await textSize(s, src),
    tail: (n: number) => tailLines(logText(s, src), n),
    slice: async (a: number, b: number) => streamToBuffer(Readable.from(sliceBytes(logText(s, src), a, b))),
    times: async (r: TimeRange) => streamToBuffer(Readable.from(walkTimeRange(s, src, r))),
  };
}

const objectGets = () => counted.gets.filter((g) => g.key === OBJECT);

describe('log-viewer through the log index', () => {
  it('answers ?tail= from the last members only: one ranged GET of the object', async () => {
    await archive(range(0, 400));
    await compactApp(APP_ID, depsFor(store), DEFAULT_SETTINGS);
    const index = (await readLogIndex(store, OBJECT))!;
    expect(index.members.length).toBeGreaterThan(50);
    const expected = await (await full()).tail(5);
    counted.reset();
    const result = await get({ tail: '5' });
    expect(result.status).toBe(200);
    expect(result.bytes.toString()).toBe(expected.toString());
    // Six records (each ends a line) are enough: the members that hold the last six, no more.
    let entries = 0;
    let k = index.members.length;
    while (entries < 6) entries += index.members[--k]!.entries;
    const from = index.members[k]!.offset;
    expect(objectGets()).toEqual([{ key: OBJECT, range: { start: from, end: index.object.size - 1 }, bytes: index.object.size - from }]);
    expect(counted.bytesRead(OBJECT)).toBeLessThan(index.object.size / 10);
    expect(counted.gets.map((g) => g.key).sort()).toEqual([OBJECT, logIndexKey(OBJECT)]);
  });

  it('answers a byte range from the members that hold it', async () => {
    await archive(range(0, 400));
    await compactApp(APP_ID, depsFor(store), DEFAULT_SETTINGS);
    const index = (await readLogIndex(store, OBJECT))!;
    const f = await full();
    const start = Math.floor(f.size / 2);
    const end = start + 300;
    counted.reset();
    const result = await get({ start: String(start), end: String(end) });
    expect(result.status).toBe(206);
    expect(result.headers?.['content-range']).toBe(`bytes ${start}-${end}/${f.size}`);
    expect(result.bytes.equals(await f.slice(start, end))).toBe(true);
    const needed = index.members.filter((m) => m.textStart <= end && m.textStart + m.textBytes > start);
    const first = needed[0]!;
    const last = needed[needed.length - 1]!;
    expect(objectGets()).toEqual([{ key: OBJECT, range: { start: first.offset, end: last.offset + last.length - 1 }, bytes: last.offset + last.length - first.offset }]);
  });

  it('reads the members of a time range only', async () => {
    await archive(range(0, 400));
    await compactApp(APP_ID, depsFor(store), DEFAULT_SETTINGS);
    const index = (await readLogIndex(store, OBJECT))!;
    const wanted: TimeRange = { from: T0 + 100 * 60_000, to: T0 + 120 * 60_000 };
    const expected = await (await full()).times(wanted);
    expect(expected.toString()).toContain('Running task 110.0');
    counted.reset();
    const got = await streamToBuffer(Readable.from(logTextInTimeRange(counted, await sources(), wanted)));
    expect(got.equals(expected)).toBe(true);
    const needed = index.members.filter((m) => m.lastTime >= wanted.from! && m.firstTime <= wanted.to!);
    expect(counted.bytesRead(OBJECT)).toBe(needed.reduce((n, m) => n + m.length, 0));
    expect(needed.length).toBeLessThan(index.members.length / 5);
  });

  it('merges the chunks that came after the compaction, as the full read does', async () => {
    await archive(range(0, 200));
    await compactApp(APP_ID, depsFor(store), DEFAULT_SETTINGS);
    await archive(range(200, 210));
    await archive(range(205, 215)); // re-delivered in part: each record once
    await archive(range(0, 12), 1); // another partition: after every record of partition 0
    const f = await full();
    counted.reset();
    // The chunks hold the last 27 records: a tail of 10 reads none of the object, one of 60 its end.
    expect((await get({ tail: '10' })).bytes.equals(await f.tail(10))).toBe(true);
    expect(objectGets()).toHaveLength(0);
    expect((await get({ tail: '60' })).bytes.equals(await f.tail(60))).toBe(true);
    expect(objectGets()).toHaveLength(1);
    expect(objectGets()[0]!.range).toBeDefined();
    const result = await get({ start: String(f.size - 2000), end: String(f.size - 100) });
    expect(result.bytes.equals(await f.slice(f.size - 2000, f.size - 100))).toBe(true);
    expect(counted.bytesRead(OBJECT)).toBeLessThan((await store.head(OBJECT))!.size / 2);
  });

  it('reads the object whole when a chunk overlaps it, and answers the same', async () => {
    await archive(range(0, 100));
    await compactApp(APP_ID, depsFor(store), DEFAULT_SETTINGS);
    await archive(range(90, 110));
    const f = await full();
    expect(await openIndexedLog(store, await sources())).toBeUndefined();
    counted.reset();
    expect((await get({ tail: '7' })).bytes.equals(await f.tail(7))).toBe(true);
    expect(objectGets()).toEqual([{ key: OBJECT, bytes: (await store.head(OBJECT))!.size }]);
  });

  it('answers the same without an index (an object compacted before indexes), reading the object whole', async () => {
    await archive(range(0, 120));
    await compactApp(APP_ID, depsFor(store), DEFAULT_SETTINGS);
    const f = await full();
    await store.delete(logIndexKey(OBJECT));
    counted.reset();
    expect((await get({ tail: '9' })).bytes.equals(await f.tail(9))).toBe(true);
    expect((await get({ start: '100', end: '999' })).bytes.equals(await f.slice(100, 999))).toBe(true);
    expect(objectGets().every((g) => g.range === undefined)).toBe(true);
  });

  it('does not trust a stale index: the object rewritten after it was indexed', async () => {
    await archive(range(0, 120));
    await compactApp(APP_ID, depsFor(store), DEFAULT_SETTINGS);
    const index = await getBuffer(store, logIndexKey(OBJECT));
    await archive(range(120, 160));
    await compactApp(APP_ID, depsFor(store), DEFAULT_SETTINGS);
    await store.put(logIndexKey(OBJECT), index); // the index of the older version
    const f = await full();
    counted.reset();
    expect((await get({ tail: '9' })).bytes.equals(await f.tail(9))).toBe(true);
    expect(objectGets()).toEqual([{ key: OBJECT, bytes: (await store.head(OBJECT))!.size }]);
  });

  it('falls back to the full read when a member read is not the one its index names', async () => {
    await archive(range(0, 120));
    await compactApp(APP_ID, depsFor(store), DEFAULT_SETTINGS);
    const index = (await readLogIndex(store, OBJECT))!;
    // Same object version on the face of it, but two members' places swapped: the read must notice.
    const members = [...index.members];
    const [a, b] = [members[members.length - 2]!, members[members.length - 1]!];
    members[members.length - 1] = { ...b, firstOffset: a.firstOffset, lastOffset: a.lastOffset };
    await store.put(logIndexKey(OBJECT), serializeLogIndex({ ...index, members }));
    const f = await full();
    expect((await get({ tail: '3' })).bytes.equals(await f.tail(3))).toBe(true);
    const start = members[members.length - 1]!.textStart;
    const result = await get({ start: String(start - 50) });
    expect(result.bytes.equals(await f.slice(start - 50, f.size - 1))).toBe(true);
  });

  it('gives the full read’s answers for random logs, tails, ranges and time ranges, with and without the index', async () => {
    const step = fc.oneof(
      fc.record({ kind: fc.constant('batch' as const), partition: fc.constantFrom(0, 0, 1), from: fc.nat(60), length: fc.integer({ min: 1, max: 30 }) }),
      fc.constant({ kind: 'compact' as const }),
    );
    // Runs the index served (the others overlap it with late chunks and go the full way): the property must not pass vacuously.
    let served = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(step, { minLength: 1, maxLength: 8 }),
        fc.constantFrom(80, 300, undefined),
        fc.array(fc.integer({ min: 1, max: 120 }), { minLength: 1, maxLength: 4 }),
        fc.array(fc.tuple(fc.nat(9000), fc.nat(3000)), { minLength: 1, maxLength: 4 }),
        fc.array(fc.tuple(fc.option(fc.nat(100)), fc.option(fc.nat(100))), { minLength: 1, maxLength: 3 }),
        async (steps, maxMemberTextBytes, tails, ranges, times) => {
          const { store: s, cleanup: done } = await tempStore();
          try {
            const settings = maxMemberTextBytes ? { maxMemberTextBytes } : {};
            let compacted = false;
            const first = { kind: 'batch' as const, partition: 0, from: 0, length: 5 };
            for (const st of [first, ...steps, { kind: 'compact' as const }, ...steps.filter((x) => x.kind === 'batch').slice(0, 1).map((x) => ({ ...x, from: x.from + 40 }))]) {
              if (st.kind === 'compact') {
                await compactApp(APP_ID, depsFor(s), DEFAULT_SETTINGS);
                compacted = true;
              } else {
                await archiverRun(batch(range(st.from, st.from + st.length).map((o) => line(o, st.partition))), depsFor(s), settings);
              }
            }
            expect(compacted).toBe(true);
            const f = await full(s);
            const withIndex = async () => {
              for (const n of tails) expect((await get({ tail: String(n) }, s)).bytes.toString()).toBe((await f.tail(n)).toString());
              for (const [start, length] of ranges) {
                const result = await get({ start: String(start), end: String(start + length) }, s);
                if (start >= f.size) expect(result.status).toBe(416);
                else {
                  expect(result.headers?.['content-range']).toBe(`bytes ${start}-${Math.min(start + length, f.size - 1)}/${f.size}`);
                  expect(result.bytes.toString()).toBe((await f.slice(start, start + length)).toString());
                }
              }
              for (const [a, b] of times) {
                const r: TimeRange = { ...(a !== null && { from: T0 + a * 60_000 }), ...(b !== null && { to: T0 + (a ?? 0) * 60_000 + b * 60_000 }) };
                const got = await streamToBuffer(Readable.from(logTextInTimeRange(s, await sources(s), r)));
                expect(got.toString()).toBe((await f.times(r)).toString());
              }
            };
            if (await openIndexedLog(s, await sources(s))) served++;
            await withIndex();
            await s.delete(logIndexKey(OBJECT));
            await withIndex();
          } finally {
            await done();
          }
        },
      ),
      { numRuns: 40 },
    );
    expect(served).toBeGreaterThan(20);
  });
});
