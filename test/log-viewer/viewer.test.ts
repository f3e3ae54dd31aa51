import fc from 'fast-check';
import { gunzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compactedKey } from '../../functions/log-archiver/chunk-key.js';
import { compactApp, run as archiverRun } from '../../functions/log-archiver/handler.js';
import { DEFAULT_SETTINGS } from '../../functions/log-archiver/settings.js';
import type { AppListing } from '../../functions/log-viewer/app-listing.js';
import { run } from '../../functions/log-viewer/handler.js';
import type { HttpResult } from '../../shared/platform/trigger.js';
import type { FileObjectStore } from '../../shared/store/fs-store.js';
import type { ObjectStore } from '../../shared/store/object-store.js';
import { getBuffer, streamToBuffer } from '../../shared/store/read.js';
import { APP_ID, batch, depsFor, executorLine, filebeatValue, record, tempStore } from '../log-archiver/support.js';
import { Readable } from 'node:stream';

let store: FileObjectStore;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ store, cleanup } = await tempStore()));
afterEach(async () => cleanup());

async function get(path: string, query: Record<string, string> = {}, s: ObjectStore = store, method = 'GET'): Promise<HttpResult & { bytes: Buffer }> {
  const result = await run({ kind: 'http', source: 'local', method, path, query, headers: {}, body: Buffer.alloc(0) }, depsFor(s));
  const body = result.body;
  const bytes = body === undefined ? Buffer.alloc(0) : typeof body === 'string' || Buffer.isBuffer(body) ? Buffer.from(body) : await streamToBuffer(body as Readable);
  return { ...result, bytes };
}

async function archive(records: ReturnType<typeof record>[]): Promise<void> {
  await archiverRun(batch(records), depsFor(store), {});
}

/** Executor 1's stderr lines at offsets from..to-1 (executor 2 writes stdout at the odd offsets). */
function lines(from: number, to: number) {
  return Array.from({ length: to - from }, (_, i) => {
    const o = from + i;
    return o % 2 === 0 ? record(o, executorLine(`stderr line ${o}`)) : record(o, executorLine(`stdout line ${o}`, { executorId: '2', stream: 'stdout' }));
  });
}

const expected = (from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => from + i)
    .filter((o) => o % 2 === 0)
    .map((o) => `stderr line ${o}\n`)
    .join('');

const LOG = `/logs/${APP_ID}/1/stderr`;

describe('log-viewer', () => {
  it('lists an app’s executors and streams with sizes and time ranges', async () => {
    await archive([record(1, filebeatValue('container-driver')), record(2, executorLine('a', { time: Date.UTC(2025, 4, 14, 2, 15) })), record(3, executorLine('b', { time: Date.UTC(2025, 4, 14, 3, 0) }))]);
    await archive([record(4, executorLine('x', { executorId: '10', stream: 'stdout' })), record(5, executorLine('y', { executorId: '2' }))]);
    await compactApp(APP_ID, depsFor(store), DEFAULT_SETTINGS);
    await archive([record(6, executorLine('c', { time: Date.UTC(2025, 4, 14, 4, 0) }))]);
    const result = await get(`/logs/${APP_ID}`);
    expect(result.status).toBe(200);
    expect(result.headers?.['content-type']).toMatch(/application\/json/);
    const listing = JSON.parse(result.bytes.toString()) as AppListing;
    expect(listing.appId).toBe(APP_ID);
    expect(listing.executors.map((e) => e.executorId)).toEqual(['driver', '1', '2', '10']);
    const one = listing.executors[1]!.streams;
    expect(one).toEqual([
      {
        stream: 'stderr',
        path: `/logs/${APP_ID}/1/stderr`,
        storedBytes: expect.any(Number),
        compacted: true,
        chunks: 1,
        firstEventTime: '2025-05-14T02:15:00.000Z',
        lastEventTime: '2025-05-14T04:00:00.000Z',
      },
    ]);
    expect(one[0]!.storedBytes).toBe((await store.head(compactedKey(APP_ID, '1', 'stderr')))!.size + (await getBuffer(store, (await store.list(`logs/${APP_ID}/1/stderr/`)).objects[0]!.key)).length);
  });

  it.each([
    ['chunks only, with re-deliveries', async () => {
      await archive(lines(0, 10));
      await archive(lines(4, 16));
      await archive(lines(16, 20));
    }],
    ['a compacted object', async () => {
      await archive(lines(0, 10));
      await archive(lines(4, 20));
      await compactApp(APP_ID, depsFor(store), DEFAULT_SETTINGS);
    }],
    ['a compacted object and newer, overlapping chunks', async () => {
      await archive(lines(0, 12));
      await compactApp(APP_ID, depsFor(store), DEFAULT_SETTINGS);
      await archive(lines(8, 20));
    }],
  ])('serves the log as text, in order, each line once, from %s', async (_, arrange) => {
    await arrange();
    const result = await get(LOG);
    expect(result.status).toBe(200);
    expect(result.headers?.['content-type']).toBe('text/plain; charset=utf-8');
    expect(result.bytes.toString()).toBe(expected(0, 20));
    expect((await get(`/logs/${APP_ID}/2/stdout`)).bytes.toString()).toBe(
      Array.from({ length: 10 }, (_, i) => `stdout line ${2 * i + 1}\n`).join(''),
    );
    expect((await get(LOG, { tail: '3' })).bytes.toString()).toBe('stderr line 14\nstderr line 16\nstderr line 18\n');
    const download = await get(LOG, { download: '1' });
    expect(download.headers).toMatchObject({ 'content-type': 'application/gzip', 'content-disposition': `attachment; filename="${APP_ID}-1-stderr.log.gz"` });
    expect(gunzipSync(download.bytes).toString()).toBe(expected(0, 20));
    const range = await get(LOG, { start: '15', end: '40' });
    expect(range.status).toBe(206);
    expect(range.headers?.['content-range']).toBe(`bytes 15-40/${Buffer.byteLength(expected(0, 20))}`);
    expect(range.bytes.toString()).toBe(expected(0, 20).slice(15, 41));
  });

  it('downloads a compacted log as the bytes stored', async () => {
    await archive(lines(0, 10));
    await compactApp(APP_ID, depsFor(store), DEFAULT_SETTINGS);
    const download = await get(LOG, { download: '1' });
    expect(download.bytes.equals(await getBuffer(store, compactedKey(APP_ID, '1', 'stderr')))).toBe(true);
  });

  it('answers byte ranges honestly: clamped at the end, 416 past it', async () => {
    await archive(lines(0, 4));
    const text = expected(0, 4);
    const tail = await get(LOG, { start: '20' });
    expect(tail.status).toBe(206);
    expect(tail.bytes.toString()).toBe(text.slice(20));
    const over = await get(LOG, { start: '3', end: '99999' });
    expect(over.headers?.['content-range']).toBe(`bytes 3-${text.length - 1}/${text.length}`);
    const past = await get(LOG, { start: String(text.length) });
    expect(past.status).toBe(416);
    expect(past.headers?.['content-range']).toBe(`bytes */${text.length}`);
    expect(JSON.parse(past.bytes.toString())).toMatchObject({ error: { reason: 'range-not-satisfiable' } });
  });

  it('gives the last lines with ?tail=, fewer when the log is shorter', async () => {
    await archive([record(1, executorLine('only\nmultiline\nmessage'))]);
    expect((await get(LOG, { tail: '2' })).bytes.toString()).toBe('multiline\nmessage\n');
    expect((await get(LOG, { tail: '100' })).bytes.toString()).toBe('only\nmultiline\nmessage\n');
  });

  it('serves an empty log for a stream an existing executor never wrote to', async () => {
    await archive(lines(0, 1));
    const result = await get(`/logs/${APP_ID}/1/stdout`);
    expect(result.status).toBe(200);
    expect(result.bytes.length).toBe(0);
  });

  it.each([
    ['/logs/spark-nope', 404, 'unknown-app'],
    ['/logs/spark-nope/1/stderr', 404, 'unknown-app'],
    [`/logs/${APP_ID}/7/stderr`, 404, 'unknown-executor'],
    [`/logs/${APP_ID}/1/gc.log`, 404, 'unknown-stream'],
    [`/logs/${APP_ID}/1`, 404, 'not-found'],
    ['/logs/spark-x/1/stderr/more', 404, 'not-found'],
    [`/logs/${APP_ID}/1/stderr/extra`, 404, 'not-found'],
    ['/logs/../deadletter', 400, 'unsafe-id'],
    [`/logs/${APP_ID}/../stderr`, 400, 'unsafe-id'],
    [`/logs/${APP_ID}/1\u0000/stderr`, 400, 'unsafe-id'],
    [`/logs/${'a'.repeat(254)}`, 400, 'unsafe-id'],
    ['/logs//1/stderr', 400, 'unsafe-id'],
  ])('answers %s with %i %s', async (path, status, reason) => {
    await archive(lines(0, 2));
    const result = await get(path);
    expect(result.status).toBe(status);
    expect(JSON.parse(result.bytes.toString())).toMatchObject({ error: { reason } });
  });

  it.each([
    [{ tail: '0' }],
    [{ tail: 'ten' }],
    [{ tail: '5', download: '1' }],
    [{ start: '-1' }],
    [{ start: '9', end: '3' }],
    [{ download: 'yes' }],
  ])('refuses the query %j with 400', async (query) => {
    await archive(lines(0, 2));
    const result = await get(LOG, query);
    expect(result.status).toBe(400);
    expect(JSON.parse(result.bytes.toString())).toMatchObject({ error: { reason: 'invalid-query' } });
  });

  it('answers 405 to anything but GET and HEAD', async () => {
    expect((await get(LOG, {}, store, 'DELETE')).status).toBe(405);
    await archive(lines(0, 2));
    const head = await get(LOG, {}, store, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.bytes.length).toBe(0);
  });

  it('never reads a key outside logs/, whatever the path', async () => {
    await archive(lines(0, 4));
    const touched: string[] = [];
    const watched = Object.create(store) as ObjectStore;
    for (const method of ['get', 'head', 'list'] as const) {
      const original = store[method].bind(store) as (key: string, ...rest: unknown[]) => Promise<unknown>;
      (watched as unknown as Record<string, unknown>)[method] = (key: string, ...rest: unknown[]) => {
        touched.push(key);
        return original(key, ...rest);
      };
    }
    const segment = fc.oneof(fc.constantFrom('..', '.', '', APP_ID, '1', 'stderr', 'stdout', '%2e%2e', 'deadletter', '\\', '\u0000', 'a/..', '...'), fc.string());
    await fc.assert(
      fc.asyncProperty(fc.array(segment, { maxLength: 5 }), async (segments) => {
        const result = await get(`/logs/${segments.join('/')}`, {}, watched);
        expect([200, 400, 404]).toContain(result.status);
      }),
      { numRuns: 500 },
    );
    expect(touched.length).toBeGreaterThan(0);
    for (const key of touched) expect(key.startsWith('logs/'), key).toBe(true);
  });
});
