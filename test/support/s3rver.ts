import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { Agent, createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const S3RVER_BIN = createRequire(import.meta.url).resolve('s3rver/bin/s3rver.js');
/** Keeps the s3rver child serving after an error it throws outside a request (see the file). */
const S3RVER_SURVIVE = fileURLToPath(new URL('./s3rver-survive.cjs', import.meta.url));
/** s3rver prints this line once it listens; with port 0 it names the port the OS picked. */
const LISTENING = /S3rver listening on [^:\s]+:(\d+)/;
const START_TIMEOUT_MS = 15_000;
const FRONT_KEEP_ALIVE_MS = 120_000;
/** How long a kept connection to s3rver may sit idle; s3rver (Node's default) closes them after 5 s. */
const UPSTREAM_IDLE_MS = 2_000;

/**
 * Domain for virtual-hosted requests: s3rver takes `<bucket>.s3.<domain>` as a bucket
 * address. Nothing resolves it; a test routes it to 127.0.0.1 with an agent of its own.
 */
export const S3RVER_VHOST_DOMAIN = 'sparkfn.test';

/**
 * How UploadPartCopy and AbortMultipartUpload behave:
 * - `s3rver`: as s3rver 3.7.1 does, 501 NotImplemented to part copy and 405 to abort;
 * - `emulated`: as S3 does (the harness copies the range itself and removes aborted uploads);
 * - `late-501`: unknown upload ids get 404 NoSuchUpload as on S3, real uploads 501;
 * - `late-500`: unknown upload ids get 404 NoSuchUpload, real uploads 500 InternalError.
 * The last three abort as S3 does.
 */
export type PartCopyMode = 's3rver' | 'emulated' | 'late-501' | 'late-500';

/** One request the server received, for assertions on how the client talked to it. */
export interface RecordedRequest {
  method: string;
  /** Path and query as sent, e.g. `/bucket?delete`. */
  url: string;
  headers: IncomingHttpHeaders;
}

/** A running s3rver, its credentials and helpers for tests. */
export interface S3rverHarness {
  /** `http://127.0.0.1:<port>`. */
  endpoint: string;
  port: number;
  /** The only key pair s3rver accepts. */
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** Every request since start; tests may empty it. */
  requests: RecordedRequest[];
  /** Settable at any time; starts as given to startS3rver. */
  partCopy: PartCopyMode;
  /** Creates a bucket with a fresh name and returns the name. */
  createBucket(): Promise<string>;
  /** The SPARKFN_STORE and SPARKFN_S3_* variables that point sparkfn at `bucket` (and `prefix`) here. */
  storeEnv(bucket: string, prefix?: string): Record<string, string>;
  /**
   * Multipart uploads the server still holds for `bucket` (started, neither completed nor
   * aborted). Read from s3rver's directory: it answers 501 to ListMultipartUploads.
   */
  openUploads(bucket: string): Promise<string[]>;
  /** Closes the server and removes its directory. */
  stop(): Promise<void>;
}

/**
 * Starts s3rver on 127.0.0.1 with a random port, in a fresh temporary directory, silent, as a
 * child process: s3rver 3.7.1 makes ListObjectsV2 continuation tokens with DES, which OpenSSL 3
 * (Node 17 and later) only offers with --openssl-legacy-provider, so in-process every paged
 * listing would fail with 500. It runs behind a thin front that records requests and, on
 * demand, fills in the UploadPartCopy and AbortMultipartUpload that s3rver lacks (see
 * {@link PartCopyMode}; that emulation expects path-style requests).
 * @example
 * const s3 = await startS3rver();
 * const bucket = await s3.createBucket();
 * const store = new S3ObjectStore({ bucket, endpoint: s3.endpoint, forcePathStyle: true, credentials: s3.credentials });
 * await s3.stop();
 */
export async function startS3rver(options: { partCopy?: PartCopyMode } = {}): Promise<S3rverHarness> {
  const directory = await mkdtemp(join(tmpdir(), 'sparkfn-s3rver-'));
  const child = spawn(
    process.execPath,
    ['--openssl-legacy-provider', '--require', S3RVER_SURVIVE, S3RVER_BIN, '-d', directory, '-a', '127.0.0.1', '-p', '0', '-s', '--service-endpoint', S3RVER_VHOST_DOMAIN],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  // Should a test file end without stop(), the server still goes with it.
  const killChild = () => child.kill();
  process.once('exit', killChild);
  const backend = `http://127.0.0.1:${await listeningPort(child)}`;
  const requests: RecordedRequest[] = [];
  const uploadDir = (bucket: string, uploadId: string) => join(directory, bucket, '._S3rver_uploads', uploadId);

  const harness: S3rverHarness = {
    endpoint: '',
    port: 0,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    requests,
    partCopy: options.partCopy ?? 's3rver',
    storeEnv(bucket, prefix) {
      return {
        SPARKFN_STORE: `s3://${bucket}${prefix ? `/${prefix}` : ''}`,
        SPARKFN_S3_ENDPOINT: harness.endpoint,
        SPARKFN_S3_FORCE_PATH_STYLE: 'true',
        SPARKFN_S3_ACCESS_KEY_ID: harness.credentials.accessKeyId,
        SPARKFN_S3_SECRET_ACCESS_KEY: harness.credentials.secretAccessKey,
      };
    },
    async createBucket() {
      const name = `bucket-${randomBytes(6).toString('hex')}`;
      // s3rver accepts unsigned requests, so plain fetch is enough here.
      const res = await fetch(`${backend}/${name}`, { method: 'PUT' });
      if (!res.ok) throw new Error(`s3rver refused to create bucket ${name}: ${res.status} ${await res.text()}`);
      return name;
    },
    async openUploads(bucket) {
      // s3rver keeps each open upload in <directory>/<bucket>/._S3rver_uploads/<uploadId>/.
      return readdir(join(directory, bucket, '._S3rver_uploads')).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return [];
        throw err;
      });
    },
    async stop() {
      front.closeAllConnections();
      await new Promise<void>((resolve) => front.close(() => resolve()));
      process.off('exit', killChild);
      if (child.exitCode === null) {
        child.kill();
        await once(child, 'exit');
      }
      await rm(directory, { recursive: true, force: true });
    },
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    const url = new URL(req.url ?? '/', backend);
    const uploadId = url.searchParams.get('uploadId');
    const [bucket = '', ...keyParts] = url.pathname.slice(1).split('/');
    const mode = harness.partCopy;
    if (mode !== 's3rver' && uploadId !== null) {
      // s3rver's upload ids are hex; anything else (a probe's made-up id) cannot be open.
      const known = /^[0-9a-f]+$/.test(uploadId) && (await stat(uploadDir(bucket, uploadId)).then(() => true, () => false));
      if (req.method === 'DELETE') {
        req.resume();
        if (!known) return sendError(res, 404, 'NoSuchUpload');
        await rm(uploadDir(bucket, uploadId), { recursive: true, force: true });
        res.writeHead(204).end();
        return;
      }
      if (req.method === 'PUT' && req.headers['x-amz-copy-source']) {
        req.resume();
        if (!known) return sendError(res, 404, 'NoSuchUpload');
        if (mode === 'late-501') return sendError(res, 501, 'NotImplemented');
        if (mode === 'late-500') return sendError(res, 500, 'InternalError');
        return copyPart(res, bucket, keyParts.join('/'), uploadId, url.searchParams.get('partNumber') ?? '', req.headers);
      }
    }
    forward(req, res);
  };

  // Connections to s3rver are kept and reused: a fresh one per request churns through tens of
  // thousands of connections in a concurrency suite, and on a loaded machine a few of them were
  // reset (TIME_WAIT reuse). s3rver closes idle ones after 5 s and a request sent on one as it
  // closes fails, so an idle connection is dropped here after UPSTREAM_IDLE_MS, well before that.
  const upstreamAgent = new Agent({ keepAlive: true, timeout: UPSTREAM_IDLE_MS });
  const forward = (req: IncomingMessage, res: ServerResponse): void => {
    const upstream = httpRequest(`${backend}${req.url ?? '/'}`, { method: req.method, headers: req.headers, agent: upstreamAgent }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  };

  // UploadPartCopy as S3 does it: read the source (range) and store it as the part.
  const copyPart = async (res: ServerResponse, bucket: string, key: string, uploadId: string, partNumber: string, headers: IncomingHttpHeaders): Promise<void> => {
    const [sourceBucket, ...sourceKey] = String(headers['x-amz-copy-source']).replace(/^\//, '').split('/').map(decodeURIComponent);
    const range = headers['x-amz-copy-source-range'];
    const source = await fetch(`${backend}/${sourceBucket}/${sourceKey.map(encodeURIComponent).join('/')}`, {
      headers: typeof range === 'string' ? { range } : {},
    });
    if (!source.ok) return sendError(res, source.status, source.status === 404 ? 'NoSuchKey' : 'InternalError');
    const part = await fetch(`${backend}/${bucket}/${key}?partNumber=${partNumber}&uploadId=${uploadId}`, {
      method: 'PUT',
      body: Buffer.from(await source.arrayBuffer()),
    });
    if (!part.ok) return sendError(res, part.status, 'InternalError');
    res.writeHead(200, { 'content-type': 'application/xml' });
    res.end(`<?xml version="1.0" encoding="UTF-8"?>\n<CopyPartResult><LastModified>${new Date().toISOString()}</LastModified><ETag>${part.headers.get('etag')}</ETag></CopyPartResult>`);
  };

  const front = createServer((req, res) => {
    handle(req, res).catch(() => sendError(res, 500, 'InternalError'));
  });
  // Node closes a keep-alive connection after 5 s idle, and a client that sends on it just then
  // gets ECONNRESET (seen on a loaded machine between a suite's rounds). S3 and OSS keep idle
  // connections far longer, so the front does too.
  front.keepAliveTimeout = FRONT_KEEP_ALIVE_MS;
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  harness.port = (front.address() as AddressInfo).port;
  harness.endpoint = `http://127.0.0.1:${harness.port}`;
  return harness;
}

function sendError(res: ServerResponse, status: number, code: string): void {
  if (res.headersSent) return void res.destroy();
  res.writeHead(status, { 'content-type': 'application/xml' });
  res.end(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${code} (sparkfn test harness)</Message></Error>`);
}

/** Waits for s3rver's "listening" line and returns the port; rejects if it exits or stays silent. */
async function listeningPort(child: ChildProcess): Promise<number> {
  let output = '';
  return new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`s3rver did not start within ${START_TIMEOUT_MS} ms: ${output}`));
    }, START_TIMEOUT_MS);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = LISTENING.exec(output);
      if (match) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        child.stdout?.resume();
        resolve(Number(match[1]));
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => void (output += chunk.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`s3rver exited with code ${code} before listening: ${output}`));
    });
  });
}
