import { gunzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compactedKey } from '../../functions/log-archiver/chunk-key.js';
import { MAX_MEMBER_TEXT_BYTES, readMembers } from '../../functions/log-archiver/gzip-member.js';
import { compactApp, run } from '../../functions/log-archiver/handler.js';
import { type LogIndex, indexDescribes, indexObject, logIndexKey, parseLogIndex, publishLogIndex, readLogIndex, serializeLogIndex } from '../../functions/log-archiver/log-index.js';
import { DEFAULT_SETTINGS } from '../../functions/log-archiver/settings.js';
import type { FileObjectStore } from '../../shared/store/fs-store.js';
import type { ObjectStore } from '../../shared/store/object-store.js';
import { getBuffer } from '../../shared/store/read.js';
import { APP_ID, batch, depsFor, executorLine, record, tempStore } from './support.js';

let store: FileObjectStore;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ store, cleanup } = await tempStore()));
afterEach(async () => cleanup());

const stderr1 = compactedKey(APP_ID, '1', 'stderr');
const T0 = Date.UTC(2025, 4, 14, 2, 0);

/** Executor 1's records at offsets from..to-1 of `partition`, one minute apart, every third one a two-line stack trace. */
function records(from: number, to: number, partition = 0) {
  return Array.from({ length: to - from }, (_, i) => {
    const o = from + i;
    const message = o % 3 === 0 ? `p${partition} ERROR task ${o} failed\n\tat org.apache.spark.Task.run(Task.scala:${o})` : `p${partition} INFO line ${o}`;
    return record(o, executorLine(message, { time: T0 + o * 60_000 }), { partition });
  });
}

async function archive(recs: ReturnType<typeof records>, s: ObjectStore = store, settings = {}): Promise<void> {
  await run(batch(recs), depsFor(s), settings);
}

async function compact(s: ObjectStore = store) {
  return compactApp(APP_ID, depsFor(s), DEFAULT_SETTINGS);
}

/** Asserts that `index` describes `key` member by member, as read from the object itself. */
async function expectCoversEveryMember(s: ObjectStore, key: string, index: LogIndex): Promise<void> {
  const body = await getBuffer(s, key);
  const members = readMembers(body, key);
  expect(index.members).toHaveLength(members.length);
  let offset = 0;
  let textStart = 0;
  members.forEach((m, i) => {
    const text = gunzipSync(m.bytes);
    expect(index.members[i]).toEqual({
      offset,
      length: m.bytes.length,
      textStart,
      textBytes: text.length,
      entries: m.index.offsets.length,
      lines: text.toString('utf8').split('\n').length - 1,
      crc: m.bytes.readUInt32LE(m.bytes.length - 8),
      firstTime: m.index.firstTime,
      lastTime: m.index.lastTime,
      topic: m.index.topic,
      partition: m.index.partition,
      firstOffset: m.index.offsets[0],
      lastOffset: m.index.offsets[m.index.offsets.length - 1],
    });
    offset += m.bytes.length;
    textStart += text.length;
  });
  expect(offset).toBe(body.length);
  const info = await s.head(key);
  expect(index.object).toEqual({ size: body.length, lastModified: info!.lastModified.toISOString(), textBytes: textStart, entries: Number(info!.metadata['line-count']) });
  expect(indexDescribes(index, info!)).toBe(true);
}

describe('log-archiver: the index of a compacted object', () => {
  it('is written beside the object by the compaction and covers every member, in two partitions', async () => {
    // Small members: several per chunk, as large batches have.
    const settings = { maxMemberTextBytes: 200 };
    await archive(records(0, 30), store, settings);
    await archive(records(0, 12, 1), store, settings);
    await compact();
    const index = await readLogIndex(store, stderr1);
    expect(index).toBeDefined();
    expect(index!.members.length).toBeGreaterThan(4);
    expect(index!.ordered).toBe(true);
    expect(index!.members.map((m) => m.partition)).toEqual([...index!.members.map((m) => m.partition)].sort());
    await expectCoversEveryMember(store, stderr1, index!);
  });

  it('is indexed again, fresh, when late chunks are appended or merged into the object', async () => {
    await archive(records(0, 10));
    await compact();
    const first = (await readLogIndex(store, stderr1))!;
    await archive(records(10, 20)); // appended (compose)
    await compact();
    const appended = (await readLogIndex(store, stderr1))!;
    expect(appended.object.entries).toBe(20);
    await expectCoversEveryMember(store, stderr1, appended);
    await archive(records(15, 25)); // overlaps: merged
    await compact();
    const merged = (await readLogIndex(store, stderr1))!;
    expect(merged.object.entries).toBe(25);
    expect(merged.ordered).toBe(true);
    await expectCoversEveryMember(store, stderr1, merged);
    expect(indexDescribes(first, (await store.head(stderr1))!)).toBe(false);
  });

  it('is deterministic: indexing the same object again gives the stored bytes, and the same records give the same members', async () => {
    await archive(records(0, 40));
    await compact();
    const stored = (await getBuffer(store, logIndexKey(stderr1))).toString('utf8');
    expect(serializeLogIndex((await indexObject(store, stderr1))!)).toBe(stored);
    expect(serializeLogIndex(parseLogIndex(stored)!)).toBe(stored);

    const other = await tempStore();
    try {
      await archive(records(0, 40), other.store);
      await compact(other.store);
      expect((await readLogIndex(other.store, stderr1))!.members).toEqual(parseLogIndex(stored)!.members);
    } finally {
      await other.cleanup();
    }
  });

  it('is found stale once the object is rewritten without it', async () => {
    await archive(records(0, 10));
    await compact();
    const index = (await readLogIndex(store, stderr1))!;
    // Another version of the object (as a run that died before indexing leaves it).
    const body = await getBuffer(store, stderr1);
    const info = (await store.head(stderr1))!;
    await store.put(stderr1, Buffer.concat([body, readMembers(body, stderr1)[0]!.bytes]), { metadata: info.metadata });
    expect(indexDescribes(index, (await store.head(stderr1))!)).toBe(false);
    // Same size, other time: still stale.
    await new Promise((resolve) => setImmediate(resolve));
    await store.put(stderr1, body, { metadata: info.metadata });
    const again = (await store.head(stderr1))!;
    expect(again.size).toBe(index.object.size);
    expect(again.lastModified.toISOString() === index.object.lastModified).toBe(indexDescribes(index, again));
    // Metadata that says another text size: stale whatever the size and time.
    expect(indexDescribes(index, { ...again, lastModified: new Date(index.object.lastModified), metadata: { ...again.metadata, 'text-bytes': String(index.object.textBytes + 1) } })).toBe(false);
  });

  it('is rebuilt when the object changes between the index write and its check', async () => {
    await archive(records(0, 10));
    await compact();
    const stale = (await readLogIndex(store, stderr1))!;
    const body = await getBuffer(store, stderr1);
    const info = (await store.head(stderr1))!;
    const first = readMembers(body, stderr1)[0]!;
    const longer = Buffer.concat([body, first.bytes]);
    const metadata = { ...info.metadata, 'text-bytes': String(stale.object.textBytes + first.textBytes), 'line-count': String(stale.object.entries + first.index.offsets.length) };
    let rewrites = 0;
    // The first index put is followed by another run's write of the object.
    const racing = Object.create(store) as ObjectStore;
    racing.put = async (key, b, options) => {
      await store.put(key, b, options);
      if (key === logIndexKey(stderr1) && rewrites++ === 0) await store.put(stderr1, longer, { metadata });
    };
    const published = await publishLogIndex(racing, stderr1, stale);
    expect(rewrites).toBe(2);
    expect(published!.object.size).toBe(longer.length);
    await expectCoversEveryMember(store, stderr1, (await readLogIndex(store, stderr1))!);
  });

  it('reads nothing it does not recognise as an index', async () => {
    expect(parseLogIndex('not json')).toBeUndefined();
    expect(parseLogIndex(JSON.stringify({ version: 2 }))).toBeUndefined();
    await archive(records(0, 10));
    await compact();
    const stored = JSON.parse((await getBuffer(store, logIndexKey(stderr1))).toString('utf8')) as { members: number[][] };
    stored.members[0]![1] = (stored.members[0]![1] as number) + 1; // members no longer tile the object
    expect(parseLogIndex(JSON.stringify(stored))).toBeUndefined();
  });

  it('keeps gzip members to MAX_MEMBER_TEXT_BYTES of text, so a tail reads little', async () => {
    const line = 'x'.repeat(10_000);
    const recs = Array.from({ length: 300 }, (_, o) => record(o, executorLine(`${o} ${line}`)));
    await archive(recs);
    await compact();
    const index = (await readLogIndex(store, stderr1))!;
    expect(index.object.textBytes).toBeGreaterThan(2 * MAX_MEMBER_TEXT_BYTES);
    expect(index.members.length).toBeGreaterThanOrEqual(3);
    for (const m of index.members) expect(m.textBytes).toBeLessThanOrEqual(MAX_MEMBER_TEXT_BYTES);
  });
});
