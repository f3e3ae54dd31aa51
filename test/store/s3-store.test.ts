import { randomBytes } from 'node:crypto';
import { Agent } from 'node:http';
import { createServer, type LookupFunction, type Server, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, InvalidInputError, SparkfnError } from '../../shared/errors.js';
import { getBuffer } from '../../shared/store/read.js';
import { S3ObjectStore, type S3ObjectStoreOptions } from '../../shared/store/s3-store.js';
import { S3RVER_VHOST_DOMAIN, startS3rver, type S3rverHarness } from '../support/s3rver.js';
import { describeObjectStoreContract } from './object-store-contract.js';

const MiB = 1024 * 1024;

/** `bytes` random bytes, then a failure, as a disk or a socket may fail half-way. */
async function* brokenAfter(bytes: number): AsyncGenerator<Buffer> {
  yield randomBytes(bytes);
  throw new Error('disk on fire');
}

let s3: S3rverHarness;
beforeAll(async () => {
  s3 = await startS3rver();
});
afterAll(async () => {
  await s3?.stop();
});

function storeOn(bucket: string, options: Partial<S3ObjectStoreOptions> = {}): S3ObjectStore {
  return new S3ObjectStore({ bucket, endpoint: s3.endpoint, forcePathStyle: true, credentials: s3.credentials, ...options });
}

/** Requests whose URL matches `pattern`, since `from` (an index into the request log). */
function requestsSince(from: number, method: string, pattern: RegExp) {
  return s3.requests.slice(from).filter((r) => r.method === method && pattern.test(r.url));
}

describeObjectStoreContract('S3ObjectStore on s3rver (no UploadPartCopy)', async () => {
  s3.partCopy = 's3rver';
  const bucket = await s3.createBucket();
  const store = storeOn(bucket);
  // s3rver ignores If-None-Match and overwrites (DESIGN.md, Real components).
  return { store, createOnly: 'ignored', leftovers: () => s3.openUploads(bucket), close: async () => store.destroy() };
});

describeObjectStoreContract('S3ObjectStore with a key prefix, on s3rver with UploadPartCopy', async () => {
  s3.partCopy = 'emulated';
  const bucket = await s3.createBucket();
  const store = storeOn(bucket, { prefix: 'tenant/a' });
  // s3rver ignores If-None-Match and overwrites (DESIGN.md, Real components).
  return { store, createOnly: 'ignored', leftovers: () => s3.openUploads(bucket), close: async () => store.destroy() };
});

describe('S3ObjectStore', () => {
  let bucket: string;
  let store: S3ObjectStore;

  beforeEach(async () => {
    s3.partCopy = 's3rver';
    bucket = await s3.createBucket();
    store = storeOn(bucket);
  });
  afterEach(() => store.destroy());

  it('sends a create-only put as one PutObject with If-None-Match: * and OSS x-oss-forbid-overwrite: true', async () => {
    const from = s3.requests.length;
    await store.put('state/claim.json', '{}', { ifNoneMatch: '*' });
    await store.put('state/plain.json', '{}');
    const [claim, plain, ...more] = requestsSince(from, 'PUT', /\/state\//);
    expect(more).toEqual([]);
    expect(claim?.headers['if-none-match']).toBe('*');
    expect(claim?.headers['x-oss-forbid-overwrite']).toBe('true');
    expect(plain?.headers['if-none-match']).toBeUndefined();
    expect(plain?.headers['x-oss-forbid-overwrite']).toBeUndefined();
  });

  it('uploads a body larger than one part as a multipart upload', async () => {
    const from = s3.requests.length;
    await store.put('big', randomBytes(9 * MiB));
    expect(requestsSince(from, 'POST', /\/big\?uploads/)).toHaveLength(1);
    expect(requestsSince(from, 'PUT', /\/big\?partNumber=/)).toHaveLength(2);
    expect(requestsSince(from, 'POST', /\/big\?uploadId=/)).toHaveLength(1);
  });

  it('sends DeleteObjects in batches of 1000, with Content-MD5 instead of CRC32 (OSS, MinIO)', async () => {
    const keys = Array.from({ length: 2001 }, (_, i) => `k/${i}`);
    const from = s3.requests.length;
    await store.deleteMany(keys);
    const batches = requestsSince(from, 'POST', new RegExp(`^/${bucket}/?\\?delete`));
    expect(batches).toHaveLength(3);
    for (const batch of batches) {
      expect(batch.headers['content-md5']).toMatch(/^[A-Za-z0-9+/]{22}==$/);
      expect(Object.keys(batch.headers).filter((h) => h.startsWith('x-amz-checksum-') || h.startsWith('x-amz-sdk-checksum-'))).toEqual([]);
    }
  });

  it('keeps keys under its prefix: other prefixes stay invisible and listed keys come back without it', async () => {
    const tenant = storeOn(bucket, { prefix: '/tenant/' });
    const root = storeOn(bucket);
    try {
      expect(tenant.url).toBe(`s3://${bucket}/tenant`);
      await tenant.put('logs/a', 'x');
      await root.put('logs/b', 'y');
      expect((await root.list('')).objects.map((o) => o.key)).toEqual(['logs/b', 'tenant/logs/a']);
      expect((await tenant.list('')).objects.map((o) => o.key)).toEqual(['logs/a']);
      expect(await tenant.head('logs/b')).toBeUndefined();
    } finally {
      tenant.destroy();
      root.destroy();
    }
  });

  it('falls back to streaming when the server has no UploadPartCopy, asking only once, and starts no upload it cannot abort', async () => {
    await store.put('p/0', randomBytes(5 * MiB));
    await store.put('p/1', 'tail');
    const from = s3.requests.length;
    await store.compose(['p/0', 'p/1'], 'p/all');
    await store.compose(['p/0', 'p/1'], 'p/again');
    expect((await store.head('p/all'))?.size).toBe(5 * MiB + 4);
    expect((await store.head('p/again'))?.size).toBe(5 * MiB + 4);
    // One probe with an upload id that cannot exist; s3rver answered 501, so the second compose streams straight away.
    expect(requestsSince(from, 'PUT', /x-id=UploadPartCopy/)).toHaveLength(1);
    expect(await s3.openUploads(bucket)).toEqual([]);
  });

  it('copies parts on the server where it can, reading no source bytes', async () => {
    s3.partCopy = 'emulated';
    const bodies = [randomBytes(5 * MiB), randomBytes(5 * MiB), Buffer.from('tail')];
    for (const [i, body] of bodies.entries()) await store.put(`p/${i}`, body);
    const from = s3.requests.length;
    await store.compose(['p/0', 'p/1', 'p/2'], 'p/all');
    expect((await getBuffer(store, 'p/all')).equals(Buffer.concat(bodies))).toBe(true);
    expect(requestsSince(from, 'PUT', /x-id=UploadPartCopy/)).toHaveLength(4);
    expect(requestsSince(from, 'GET', /\/p\/\d/)).toEqual([]);
  });

  it('aborts the upload and streams when part copy answers 501 only after the upload started', async () => {
    s3.partCopy = 'late-501';
    await store.put('p/0', randomBytes(5 * MiB));
    await store.put('p/1', 'tail');
    const from = s3.requests.length;
    await store.compose(['p/0', 'p/1'], 'p/all');
    expect((await store.head('p/all'))?.size).toBe(5 * MiB + 4);
    expect(requestsSince(from, 'DELETE', /\/p\/all\?uploadId=/)).toHaveLength(1);
    expect(await s3.openUploads(bucket)).toEqual([]);
  });

  it('aborts the upload and rejects when part copy fails otherwise', async () => {
    s3.partCopy = 'late-500';
    const failing = storeOn(bucket, { maxAttempts: 1 });
    try {
      await failing.put('p/0', randomBytes(5 * MiB));
      await failing.put('p/1', 'tail');
      await expect(failing.compose(['p/0', 'p/1'], 'p/all')).rejects.toThrow(/Could not compose .*p\/all by part copy .*InternalError \(HTTP 500\)/);
      expect(await failing.head('p/all')).toBeUndefined();
      expect(await s3.openUploads(bucket)).toEqual([]);
    } finally {
      failing.destroy();
    }
  });

  it('aborts a multipart put whose stream fails after the first part, keeping the stream error', async () => {
    s3.partCopy = 'emulated';
    const from = s3.requests.length;
    await expect(store.put('broken', Readable.from(brokenAfter(9 * MiB)))).rejects.toThrow(/Could not put .*broken.*: disk on fire\.$/);
    expect(requestsSince(from, 'PUT', /\/broken\?partNumber=1&/)).toHaveLength(1);
    expect(requestsSince(from, 'DELETE', /\/broken\?uploadId=/)).toHaveLength(1);
    expect(await s3.openUploads(bucket)).toEqual([]);
    expect(await store.head('broken')).toBeUndefined();
  });

  it('says so when the server refuses the abort (s3rver answers 405 to AbortMultipartUpload)', async () => {
    const err = await store.put('broken', Readable.from(brokenAfter(9 * MiB))).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/disk on fire; aborting multipart upload \w+ failed too \(MethodNotAllowed \(HTTP 405\)/);
    expect(await s3.openUploads(bucket)).toHaveLength(1);
  });

  it('works with virtual-hosted addressing (forcePathStyle false), as OSS requires', async () => {
    // <bucket>.s3.sparkfn.test resolves to s3rver, which reads the bucket from the Host header.
    const lookup: LookupFunction = (_host, options, callback) => {
      if (options.all) callback(null, [{ address: '127.0.0.1', family: 4 }]);
      else callback(null, '127.0.0.1', 4);
    };
    const agent = new Agent({ lookup } as ConstructorParameters<typeof Agent>[0]);
    const vhost = new S3ObjectStore({
      bucket,
      endpoint: `http://s3.${S3RVER_VHOST_DOMAIN}:${s3.port}`,
      forcePathStyle: false,
      credentials: s3.credentials,
      httpAgent: agent,
    });
    try {
      const from = s3.requests.length;
      await vhost.put('v/k', 'virtual');
      expect((await getBuffer(vhost, 'v/k')).toString()).toBe('virtual');
      expect((await vhost.list('v/')).objects.map((o) => o.key)).toEqual(['v/k']);
      expect(s3.requests.slice(from).map((r) => r.headers.host)).toEqual(Array(3).fill(`${bucket}.s3.${S3RVER_VHOST_DOMAIN}:${s3.port}`));
      expect((await getBuffer(store, 'v/k')).toString()).toBe('virtual');
    } finally {
      vhost.destroy();
      agent.destroy();
    }
  });

  it('rejects a bad bucket name or part size when constructed', () => {
    expect(() => storeOn('No_Such')).toThrow(InvalidInputError);
    expect(() => storeOn(bucket, { partSize: MiB })).toThrow(InvalidInputError);
    expect(() => storeOn(bucket, { prefix: 'a/../b' })).toThrow(InvalidInputError);
  });
});

describe('S3ObjectStore failures', () => {
  it('names the missing bucket on put, get, list, delete and compose', async () => {
    const store = storeOn('no-such-bucket');
    try {
      for (const attempt of [
        () => store.put('k', 'x'),
        () => store.get('k'),
        () => store.list(''),
        () => store.deleteMany(['k']),
        () => store.copy('a', 'b'),
      ]) {
        const err = await attempt().catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ConfigError);
        expect((err as Error).message).toMatch(/The bucket "no-such-bucket" does not exist at http:\/\/127\.0\.0\.1:\d+/);
      }
    } finally {
      store.destroy();
    }
  });

  it('rejects quickly once the server is gone', async () => {
    const gone = await startS3rver();
    const bucket = await gone.createBucket();
    const store = new S3ObjectStore({ bucket, endpoint: gone.endpoint, forcePathStyle: true, credentials: gone.credentials });
    try {
      await store.put('k', 'x');
      await gone.stop();
      const started = Date.now();
      const err = await store.get('k').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SparkfnError);
      expect((err as Error).message).toMatch(/could not be reached \(ECONNREFUSED\)/);
      await expect(store.put('k', 'x')).rejects.toThrow(/ECONNREFUSED/);
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      store.destroy();
    }
  });

  it('gives up on a server that accepts connections and never answers', async () => {
    const sockets: Socket[] = [];
    const silent: Server = createServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    const store = new S3ObjectStore({
      bucket: 'silent',
      endpoint: `http://127.0.0.1:${port}`,
      forcePathStyle: true,
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
      socketTimeoutMs: 300,
      maxAttempts: 2,
    });
    try {
      const started = Date.now();
      await expect(store.get('k')).rejects.toThrow(/no answer in time/);
      await expect(store.list('')).rejects.toThrow(/no answer in time/);
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      store.destroy();
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });
});

describe('S3ObjectStore on a server that ignores Range (OSS answers an invalid range with the whole object)', () => {
  const text = 'abcdefghijklmnopqrstuvwxyz';
  let server: import('node:http').Server;
  let store: S3ObjectStore;
  beforeAll(async () => {
    const { createServer: createHttpServer } = await import('node:http');
    server = createHttpServer((req, res) => {
      // 200 and every byte, whatever the Range header says.
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(text.length), etag: '"x"', 'last-modified': new Date(0).toUTCString() });
      res.end(req.method === 'HEAD' ? undefined : text);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    store = new S3ObjectStore({ bucket: 'range-ignored', endpoint: `http://127.0.0.1:${port}`, forcePathStyle: true, credentials: { accessKeyId: 'k', secretAccessKey: 's' }, maxAttempts: 1 });
  });
  afterAll(async () => new Promise<void>((resolve) => server.close(() => resolve())));

  it.each([
    [{ start: 2, end: 5 }, 'cdef'],
    [{ start: 20 }, 'uvwxyz'],
    [{ start: 23, end: 1000 }, 'xyz'],
  ])('still hands back only the range %j', async (range, expected) => {
    expect((await getBuffer(store, 'k', range)).toString()).toBe(expected);
  });

  it('rejects a range past the end with RangeNotSatisfiableError, as S3 does', async () => {
    await expect(store.get('k', { start: 26 })).rejects.toMatchObject({ name: 'RangeNotSatisfiableError', size: 26 });
  });
});
