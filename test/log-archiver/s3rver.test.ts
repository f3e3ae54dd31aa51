import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ArchiveSummary } from '../../functions/log-archiver/archive-batch.js';
import { compactedKey } from '../../functions/log-archiver/chunk-key.js';
import { compactApp, run } from '../../functions/log-archiver/handler.js';
import { DEFAULT_SETTINGS } from '../../functions/log-archiver/settings.js';
import { run as view } from '../../functions/log-viewer/handler.js';
import { S3ObjectStore } from '../../shared/store/s3-store.js';
import { getBuffer, streamToBuffer } from '../../shared/store/read.js';
import { type S3rverHarness, startS3rver } from '../support/s3rver.js';
import { APP_ID, batch, depsFor, executorLine, filebeatValue, keys, linesOf, record, text, withIndexes } from './support.js';
import type { Readable } from 'node:stream';

/**
 * A proxy in front of s3rver that answers 503 to the requests `fail` picks (Vector's
 * broken-bucket idea at the HTTP level): the S3 client sees a real server error.
 */
async function startFlakyProxy(target: string, fail: (req: IncomingMessage) => boolean): Promise<{ endpoint: string; close: () => Promise<void> }> {
  const upstream = new URL(target);
  const server: Server = createServer((req, res) => {
    if (fail(req)) {
      req.resume();
      req.on('end', () => {
        res.writeHead(503, { 'content-type': 'application/xml' });
        res.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>ServiceUnavailable</Code><Message>injected by the test proxy</Message></Error>');
      });
      return;
    }
    const forward = request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

let s3: S3rverHarness;
let bucket: string;
beforeAll(async () => {
  s3 = await startS3rver();
});
afterAll(async () => s3?.stop());
beforeEach(async () => {
  bucket = await s3.createBucket();
});

function storeAt(endpoint = s3.endpoint): S3ObjectStore {
  return new S3ObjectStore({ bucket, prefix: 'sparkfn', endpoint, forcePathStyle: true, credentials: s3.credentials, maxAttempts: 1 });
}

function lines(from: number, to: number) {
  return Array.from({ length: to - from }, (_, i) => record(from + i, executorLine(`line ${from + i}`, { stream: (from + i) % 3 === 0 ? 'stdout' : 'stderr' })));
}
const expected = (from: number, to: number, stream: 'stdout' | 'stderr') =>
  Array.from({ length: to - from }, (_, i) => from + i)
    .filter((o) => (o % 3 === 0) === (stream === 'stdout'))
    .map((o) => `line ${o}`);

async function body(result: { body?: unknown }): Promise<Buffer> {
  const b = result.body;
  return typeof b === 'string' || Buffer.isBuffer(b) ? Buffer.from(b) : streamToBuffer(b as Readable);
}

describe('log-archiver and log-viewer on the S3 API (s3rver)', () => {
  it('archives, compacts and serves the logs back, with the metadata S3 keeps', async () => {
    const store = storeAt();
    const summary = (await run(batch([record(1, filebeatValue('container-driver')), ...lines(2, 30)]), depsFor(store), {})) as ArchiveSummary;
    expect(summary).toMatchObject({ archived: 29, chunks: 3 });
    await run(batch(lines(10, 40)), depsFor(store), {});
    const chunk = (await keys(store, `logs/${APP_ID}/1/stderr/`))[0]!;
    expect(await store.head(chunk)).toMatchObject({ contentEncoding: 'gzip', contentType: 'text/plain; charset=utf-8', metadata: { 'line-count': expect.any(String), namespace: 'spark-jobs' } });

    const before = await view({ kind: 'http', source: 'local', method: 'GET', path: `/logs/${APP_ID}/1/stderr`, query: {}, headers: {}, body: Buffer.alloc(0) }, depsFor(store));
    expect(linesOf((await body(before)).toString())).toEqual(expected(2, 40, 'stderr'));

    const compaction = await compactApp(APP_ID, depsFor(store), DEFAULT_SETTINGS);
    expect(compaction).toMatchObject({ compacted: 3, failed: 0 });
    expect(await keys(store)).toEqual(withIndexes([compactedKey(APP_ID, '1', 'stderr'), compactedKey(APP_ID, '1', 'stdout'), compactedKey(APP_ID, 'driver', 'stderr')]));
    expect(linesOf(await text(store, compactedKey(APP_ID, '1', 'stdout')))).toEqual(expected(2, 40, 'stdout'));

    const after = await view({ kind: 'http', source: 'local', method: 'GET', path: `/logs/${APP_ID}/1/stderr`, query: { start: '7', end: '30' }, headers: {}, body: Buffer.alloc(0) }, depsFor(store));
    expect(after.status).toBe(206);
    expect((await body(after)).toString()).toBe(`${expected(2, 40, 'stderr').join('\n')}\n`.slice(7, 31));
    const download = await view({ kind: 'http', source: 'local', method: 'GET', path: `/logs/${APP_ID}/1/stderr`, query: { download: '1' }, headers: {}, body: Buffer.alloc(0) }, depsFor(store));
    const gz = await body(download);
    expect(gz.equals(await getBuffer(store, compactedKey(APP_ID, '1', 'stderr')))).toBe(true);
    expect(linesOf(gunzipSync(gz).toString())).toEqual(expected(2, 40, 'stderr'));
    expect(await s3.openUploads(bucket)).toEqual([]);
  });

  it('fails the batch when the store refuses a write; the retry overwrites the same keys, nothing duplicated', async () => {
    let broken = true;
    const proxy = await startFlakyProxy(s3.endpoint, (req) => broken && req.method === 'PUT' && (req.url ?? '').includes('/stdout/'));
    try {
      const store = storeAt(proxy.endpoint);
      const records = [...lines(0, 12), record(12, 'not json')];
      await expect(run(batch(records), depsFor(store), {})).rejects.toThrow();
      const written = await keys(store);
      expect(written.some((k) => k.includes('/stdout/'))).toBe(false);

      broken = false;
      const summary = (await run(batch(records), depsFor(store), {})) as ArchiveSummary;
      expect(summary).toMatchObject({ archived: 12, chunks: 2, deadLettered: 1 });
      const after = await keys(store);
      expect(after).toHaveLength(3);
      for (const k of written) expect(after).toContain(k);
      expect(linesOf(await text(store, after.find((k) => k.includes('/stdout/'))!))).toEqual(expected(0, 12, 'stdout'));

      await compactApp(APP_ID, depsFor(store), DEFAULT_SETTINGS);
      expect(linesOf(await text(store, compactedKey(APP_ID, '1', 'stderr')))).toEqual(expected(0, 12, 'stderr'));
      expect(await s3.openUploads(bucket)).toEqual([]);
    } finally {
      await proxy.close();
    }
  });

  it('converges when a compaction dies after writing the compacted object, before deleting the chunks', async () => {
    let broken = true;
    // DeleteObjects is `POST /bucket?delete`.
    const proxy = await startFlakyProxy(s3.endpoint, (req) => broken && req.method === 'POST' && (req.url ?? '').includes('delete'));
    try {
      const store = storeAt(proxy.endpoint);
      await run(batch(lines(0, 20)), depsFor(store), {});
      await run(batch(lines(5, 25)), depsFor(store), {});
      await expect(compactApp(APP_ID, depsFor(store), DEFAULT_SETTINGS)).rejects.toThrow();
      expect(linesOf(await text(store, compactedKey(APP_ID, '1', 'stderr')))).toEqual(expected(0, 25, 'stderr'));
      expect((await keys(store, `logs/${APP_ID}/1/stderr/`)).length).toBe(2);

      broken = false;
      const again = await compactApp(APP_ID, depsFor(store), DEFAULT_SETTINGS);
      expect(again).toMatchObject({ compacted: 2, failed: 0 });
      expect(linesOf(await text(store, compactedKey(APP_ID, '1', 'stderr')))).toEqual(expected(0, 25, 'stderr'));
      expect(await keys(store)).toEqual(withIndexes([compactedKey(APP_ID, '1', 'stderr'), compactedKey(APP_ID, '1', 'stdout')]));
    } finally {
      await proxy.close();
    }
  });
});
