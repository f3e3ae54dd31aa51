import { utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compactedKey } from '../../functions/log-archiver/chunk-key.js';
import { COMPACTION_WRITE_DEADLINE_MS, compactApp, compactStream, listStreams, MARKER_STALE_MS, markerPrefix } from '../../functions/log-archiver/compact.js';
import { run } from '../../functions/log-archiver/handler.js';
import { DEFAULT_SETTINGS } from '../../functions/log-archiver/settings.js';
import type { ObjectStore } from '../../shared/store/object-store.js';
import { getBuffer, streamToBuffer } from '../../shared/store/read.js';
import { FileObjectStore } from '../../shared/store/fs-store.js';
import { S3ObjectStore } from '../../shared/store/s3-store.js';
import { startS3rver, type S3rverHarness } from '../support/s3rver.js';
import { APP_ID, batch, depsFor, executorLine, keys, linesOf, record, tempStore, text, withIndexes } from './support.js';

const stderr1 = compactedKey(APP_ID, '1', 'stderr');
const lines = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `line ${from + i}`);
const records = (from: number, to: number) => lines(from, to).map((l, i) => record(from + i, executorLine(l, { executorId: '1' })));

/**
 * The store as a slow replica sees it: a write of the compacted object reads what it is given
 * at once (as an upload, or S3's part copies, do) but lands only when `release` is called.
 */
function slowWrites(store: ObjectStore): { store: ObjectStore; holding: Promise<void>; release: () => void } {
  let release!: () => void;
  let held!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const holding = new Promise<void>((resolve) => (held = resolve));
  const slow = Object.create(store) as ObjectStore;
  slow.put = async (key, body, options) => {
    if (key !== stderr1) return store.put(key, body, options);
    const bytes = body instanceof Readable ? await streamToBuffer(body) : body;
    held();
    await gate;
    return store.put(key, bytes, options);
  };
  slow.compose = async (sources, to, options) => {
    const bytes = Buffer.concat(await Promise.all(sources.map((k) => getBuffer(store, k))));
    held();
    await gate;
    return store.put(to, bytes, options);
  };
  return { store: slow, holding, release };
}

/** The timer's run, at a time when every chunk is idle. */
function timer(store: ObjectStore) {
  const deps = depsFor(store);
  deps.clock.set(Date.now() + 2 * DEFAULT_SETTINGS.compactIdleMs);
  return run({ kind: 'schedule', source: 'test', time: deps.clock.now() }, deps, {});
}

let s3: S3rverHarness;
beforeAll(async () => {
  s3 = await startS3rver();
});
afterAll(async () => {
  await s3?.stop();
});

describe.each([
  ['the filesystem store', async () => tempStore()],
  ['s3rver', async () => ({ store: new S3ObjectStore({ bucket: await s3.createBucket(), endpoint: s3.endpoint, forcePathStyle: true, credentials: s3.credentials }), cleanup: async () => {} })],
])('log-archiver: two compactions of one stream at once on %s', (_, makeStore) => {
  async function stream(store: ObjectStore) {
    const [s] = (await listStreams(store, `logs/${APP_ID}/1/`)).filter((x) => x.stream === 'stderr');
    return s!;
  }

  it('never deletes a late chunk that a slower run overwrites the compacted object without', async () => {
    const { store, cleanup } = await makeStore();
    try {
      await run(batch(records(0, 10)), depsFor(store), {});
      // Replica A lists the first chunk and is slow to write.
      const slow = slowWrites(store);
      const a = compactStream(await stream(store), depsFor(slow.store), DEFAULT_SETTINGS);
      await slow.holding;
      // A late chunk arrives; replica B compacts both while A is still writing.
      await run(batch(records(10, 20)), depsFor(store), {});
      const b = await compactStream(await stream(store), depsFor(store), DEFAULT_SETTINGS);
      expect(b).toMatchObject({ chunks: 2, deleted: 0, kept: 2 });
      slow.release();
      expect(await a).toMatchObject({ chunks: 1, deleted: 1 });
      // A's write landed last and lacks the late chunk, which is still there.
      expect(linesOf(await text(store, stderr1))).toEqual(lines(0, 10));
      const viewed = await timer(store);
      expect(viewed).toMatchObject({ compacted: 1, deleted: 1, failed: 0 });
      expect(linesOf(await text(store, stderr1))).toEqual(lines(0, 20));
      expect(await keys(store, `logs/${APP_ID}/`)).toEqual(withIndexes([stderr1]));
    } finally {
      await cleanup();
    }
  });

  it('repairs a record composed twice when two runs appended the same late chunk', async () => {
    const { store, cleanup } = await makeStore();
    try {
      await run(batch(records(0, 10)), depsFor(store), {});
      await timer(store);
      await run(batch(records(10, 20)), depsFor(store), {});
      // Both runs see the compacted object without the late chunk and decide to append it.
      const slow = slowWrites(store);
      const a = compactStream(await stream(store), depsFor(slow.store), DEFAULT_SETTINGS);
      await slow.holding;
      const b = await compactStream(await stream(store), depsFor(store), DEFAULT_SETTINGS);
      expect(b).toMatchObject({ deleted: 0, kept: 1 });
      slow.release();
      // A composed onto B's object: the late lines twice, until A reads it back and merges again.
      expect(await a).toMatchObject({ deleted: 1, kept: 0 });
      expect(linesOf(await text(store, stderr1))).toEqual(lines(0, 20));
      expect(await keys(store, `logs/${APP_ID}/`)).toEqual(withIndexes([stderr1]));
    } finally {
      await cleanup();
    }
  });

  it('writes nothing when a run reaches its write past the deadline, so a stale marker can never hide it', async () => {
    const { store, cleanup } = await makeStore();
    try {
      await run(batch(records(0, 10)), depsFor(store), {});
      await run(batch(records(5, 15)), depsFor(store), {});
      const deps = depsFor(store);
      // A run that hangs while it reads the chunks: its clock is past the deadline when the merge ends.
      const hanging = Object.create(store) as ObjectStore;
      hanging.get = async (key, range) => {
        deps.clock.advance(COMPACTION_WRITE_DEADLINE_MS);
        return store.get(key, range);
      };
      const summary = await compactApp(APP_ID, { ...deps, store: hanging }, DEFAULT_SETTINGS);
      expect(summary).toMatchObject({ compacted: 0, skipped: 1, failed: 0 });
      expect(await keys(store, `logs/${APP_ID}/`)).toHaveLength(2);
      expect(await timer(store)).toMatchObject({ compacted: 1, deleted: 2 });
      expect(linesOf(await text(store, stderr1))).toEqual(lines(0, 15));
    } finally {
      await cleanup();
    }
  });

  it('keeps chunks while another run’s marker is up, and stops waiting for a run that died once its marker is stale', async () => {
    const { store, cleanup } = await makeStore();
    try {
      await run(batch(records(0, 10)), depsFor(store), {});
      const s = await stream(store);
      const dead = `${markerPrefix(s)}dead-run.json`;
      await store.put(dead, '{}');
      expect(await compactStream(s, depsFor(store), DEFAULT_SETTINGS)).toMatchObject({ deleted: 0, kept: 1 });
      expect(await keys(store, `logs/${APP_ID}/1/stderr/`)).toHaveLength(2);
      // Only a directory lets a test date an object back; S3 dates it when it lands.
      if (!(store instanceof FileObjectStore)) return;
      const old = new Date(Date.now() - MARKER_STALE_MS - 60_000);
      await utimes(join(store.dir, dead), old, old);
      expect(await compactStream(s, depsFor(store), DEFAULT_SETTINGS)).toMatchObject({ deleted: 1, kept: 0 });
      expect(await keys(store, `logs/${APP_ID}/`)).toEqual(withIndexes([dead, stderr1]));
    } finally {
      await cleanup();
    }
  });
});
