import { createHash } from 'node:crypto';
import type { Agent as HttpAgent } from 'node:http';
import type { Agent as HttpsAgent } from 'node:https';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCopyCommand,
  type PutObjectCommandInput,
} from '@aws-sdk/client-s3';
import type { S3ClientConfig } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { ConfigError, InvalidInputError, NotFoundError, PreconditionFailedError, RangeNotSatisfiableError, SparkfnError, errorMessage } from '../errors.js';
import { assertByteRange, rangeHeader } from './byte-range.js';
import { mapConcurrently } from './map-concurrently.js';
import { MAX_KEY_BYTES, assertKeyPrefix, assertObjectKey } from './object-key.js';
import type { Body, ByteRange, ListOptions, ListPage, ObjectInfo, ObjectStore, PutOptions } from './object-store.js';
import { assertNotCreateOnly, assertPutOptions } from './put-options.js';
import { streamToBuffer } from './read.js';

/** Region when none is configured: OSS and s3rver ignore it, AWS needs the bucket's own. */
export const DEFAULT_REGION = 'us-east-1';
/** The SDK's own default: rides out one 503 SlowDown, yet a dead endpoint fails within seconds. */
export const DEFAULT_MAX_ATTEMPTS = 3;
/** A reachable endpoint connects in milliseconds; 5 s still rides out a congested NAT gateway. */
export const DEFAULT_CONNECTION_TIMEOUT_MS = 5_000;
/**
 * Longest silence on an open connection. An idle limit rather than a total one, so a large part
 * may take as long as it needs while a server that accepted and went quiet is given up on.
 */
export const DEFAULT_SOCKET_TIMEOUT_MS = 30_000;
/** Multipart part size: above S3's 5 MiB minimum; 4 parts in flight buffer 32 MiB; 10,000 parts reach 80 GB. */
export const DEFAULT_PART_SIZE = 8 * 1024 * 1024;

/**
 * The part of a whole object's body a range asked for, when the server ignored the Range header:
 * RangeNotSatisfiableError when it starts past the end (as S3 answers 416), else the bytes of the
 * range, the rest of the body skipped.
 */
function wholeBodyAsRange(body: Readable, key: string, range: ByteRange, contentLength: number | undefined): Readable {
  if (contentLength !== undefined && range.start >= contentLength) {
    body.destroy();
    throw new RangeNotSatisfiableError(key, contentLength);
  }
  const end = range.end ?? Infinity;
  const sliced = Readable.from(
    (async function* () {
      let at = 0;
      try {
        for await (const piece of body as AsyncIterable<Buffer>) {
          const from = Math.max(0, range.start - at);
          const to = Math.min(piece.length, end + 1 - at);
          if (from < to) yield piece.subarray(from, to);
          at += piece.length;
          if (at > end) return;
        }
      } finally {
        body.destroy();
      }
    })(),
  );
  return sliced;
}

/** S3's smallest part (every part but the last). */
const MIN_PART_BYTES = 5 * 1024 * 1024;
/** S3's largest part, and the largest source UploadPartCopy takes in one part. */
const MAX_PART_BYTES = 5 * 1024 * 1024 * 1024;
/** S3's most parts in one multipart upload. */
const MAX_PARTS = 10_000;
/** S3's most keys in one DeleteObjects request. */
const DELETE_BATCH = 1000;
/** Parts uploaded or copied at once. */
const PART_CONCURRENCY = 4;
/** HEAD requests at once when compose sizes up its sources. */
const HEAD_CONCURRENCY = 16;
/** An upload id no server has issued: S3 and OSS answer NoSuchUpload to it, a server without UploadPartCopy 501. */
const PROBE_UPLOAD_ID = 'sparkfn-part-copy-probe';
const NETWORK_ERROR_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'ETIMEDOUT']);

/** Explicit S3 credentials (OSS AccessKey pairs work as they are). */
export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** Where the store lives and how its client behaves. Only `bucket` is required. */
export interface S3ObjectStoreOptions {
  bucket: string;
  /** Keys live under `<prefix>/`; listings hand them back without it. */
  prefix?: string;
  /** e.g. `https://oss-cn-hangzhou.aliyuncs.com` or s3rver's `http://127.0.0.1:4568`; omitted: AWS. */
  endpoint?: string;
  region?: string;
  /** `https://endpoint/bucket/key` instead of `https://bucket.endpoint/key` (s3rver, MinIO; OSS wants false). */
  forcePathStyle?: boolean;
  /** Omitted: the SDK's default chain (environment, profile, container or instance role). */
  credentials?: S3Credentials;
  /** Attempts per request, the first included. Default {@link DEFAULT_MAX_ATTEMPTS}. */
  maxAttempts?: number;
  /** The SDK's retry strategy instead of its standard one (which has a retry quota per client). */
  retryStrategy?: S3ClientConfig['retryStrategy'];
  /** Default {@link DEFAULT_CONNECTION_TIMEOUT_MS}. */
  connectionTimeoutMs?: number;
  /**
   * Longest silence on an open connection, also while the caller reads a get's stream (a reader
   * that pauses longer loses the stream). Default {@link DEFAULT_SOCKET_TIMEOUT_MS}.
   */
  socketTimeoutMs?: number;
  /** Part size of multipart uploads, at least 5 MiB. Default {@link DEFAULT_PART_SIZE}. */
  partSize?: number;
  /** Agents for proxies, keep-alive tuning or name resolution of your own. */
  httpAgent?: HttpAgent;
  httpsAgent?: HttpsAgent;
}

interface PartCopy {
  source: string;
  /** Inclusive byte range within the source, for sources larger than one part may be. */
  range?: ByteRange;
}

/**
 * ObjectStore on the S3 API: OSS, AWS S3, MinIO, s3rver. Checksums are only sent and checked
 * where the API requires them (OSS rejects the SDK's default CRC32 headers), and DeleteObjects
 * carries Content-MD5 as OSS and MinIO demand. Large bodies and streams go up as multipart
 * uploads; a failed one is aborted.
 * @example
 * const store = new S3ObjectStore({ bucket: 'spark-ops', prefix: 'prod', endpoint: 'https://oss-cn-hangzhou.aliyuncs.com' });
 * await store.put('costs/dt=2024-05-01/ns/app.json', JSON.stringify(record), { contentType: 'application/json' });
 */
export class S3ObjectStore implements ObjectStore {
  readonly url: string;
  readonly bucket: string;
  private readonly keyPrefix: string;
  private readonly client: S3Client;
  private readonly partSize: number;
  private readonly where: string;
  private partCopySupport: Promise<boolean> | undefined;

  constructor(options: S3ObjectStoreOptions) {
    // The SDK is pinned to the last line that runs on Node 20 on purpose (README, "Runtime"), so
    // its once-per-process warning about future versions is noise in every CLI run and function
    // log. Setting the SDK's own switch first leaves the choice to anyone who sets it themselves.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    const { bucket } = options;
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
      throw new InvalidInputError(`The bucket name ${JSON.stringify(bucket)} must be 3-63 lower-case letters, digits, dots or hyphens.`, 'invalid-bucket');
    }
    const prefix = (options.prefix ?? '').replace(/^\/+|\/+$/g, '');
    this.bucket = bucket;
    this.keyPrefix = prefix ? `${assertObjectKey(prefix, 'key prefix')}/` : '';
    this.url = `s3://${bucket}${prefix ? `/${prefix}` : ''}`;
    this.where = options.endpoint ?? `AWS S3 (${options.region ?? DEFAULT_REGION})`;
    this.partSize = options.partSize ?? DEFAULT_PART_SIZE;
    if (!Number.isSafeInteger(this.partSize) || this.partSize < MIN_PART_BYTES || this.partSize > MAX_PART_BYTES) {
      throw new InvalidInputError(`The part size ${this.partSize} must be a whole number of bytes from 5 MiB to 5 GiB.`, 'invalid-part-size');
    }
    this.client = new S3Client({
      region: options.region ?? DEFAULT_REGION,
      endpoint: options.endpoint,
      forcePathStyle: options.forcePathStyle ?? false,
      credentials: options.credentials,
      maxAttempts: options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
      ...(options.retryStrategy ? { retryStrategy: options.retryStrategy } : {}),
      // OSS rejects the CRC32 headers SDK versions since 3.729 add by default.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: {
        connectionTimeout: options.connectionTimeoutMs ?? DEFAULT_CONNECTION_TIMEOUT_MS,
        socketTimeout: options.socketTimeoutMs ?? DEFAULT_SOCKET_TIMEOUT_MS,
        httpAgent: options.httpAgent,
        httpsAgent: options.httpsAgent,
      },
    });
    // OSS and MinIO refuse DeleteObjects without Content-MD5, which the SDK replaced with CRC32:
    // https://github.com/aws/aws-sdk-js-v3/blob/main/supplemental-docs/MD5_FALLBACK.md
    this.client.middlewareStack.add(
      (next, context) => async (args) => {
        const request = args.request as { headers?: Record<string, string>; body?: unknown };
        if (context.commandName === 'DeleteObjectsCommand' && request.headers && typeof request.body === 'string') {
          for (const name of Object.keys(request.headers)) {
            if (/^x-amz-(sdk-)?checksum-/i.test(name)) delete request.headers[name];
          }
          request.headers['content-md5'] = createHash('md5').update(request.body).digest('base64');
        }
        return next(args);
      },
      { step: 'build', priority: 'low', name: 'sparkfnDeleteObjectsContentMd5' },
    );
    // OSS's own create-only header (https://www.alibabacloud.com/help/en/oss/developer-reference/putobject):
    // sent beside If-None-Match so that one put is create-only on OSS and on S3 alike.
    this.client.middlewareStack.add(
      (next, context) => async (args) => {
        const request = args.request as { headers?: Record<string, string> };
        if (context.commandName === 'PutObjectCommand' && request.headers?.['if-none-match'] === '*') request.headers['x-oss-forbid-overwrite'] = 'true';
        return next(args);
      },
      { step: 'build', priority: 'low', name: 'sparkfnOssForbidOverwrite' },
    );
  }

  /** Closes the client's sockets. The store cannot be used afterwards. */
  destroy(): void {
    this.client.destroy();
  }

  async put(key: string, body: Body, options?: PutOptions): Promise<void> {
    const Key = this.fullKey(key);
    assertPutOptions(options);
    if (options?.ifNoneMatch === '*') {
      await this.putCreateOnly(key, Key, body instanceof Readable ? await streamToBuffer(body) : body, options);
      return;
    }
    await this.upload({ Bucket: this.bucket, Key, Body: body, ...objectHeaders(options) }, this.partSize, `put ${this.show(key)}`);
  }

  /** One PutObject with `If-None-Match: *` (and OSS's forbid-overwrite): 412 (S3) or 409 FileAlreadyExists (OSS) mean the key was taken. */
  private async putCreateOnly(key: string, Key: string, body: string | Uint8Array, options: PutOptions): Promise<void> {
    try {
      await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key, Body: body, IfNoneMatch: '*', ...objectHeaders(options) }));
    } catch (err) {
      if (httpStatus(err) === 412 || errorName(err) === 'PreconditionFailed' || errorName(err) === 'FileAlreadyExists') throw new PreconditionFailedError(key);
      throw this.failure(err, `create ${this.show(key)}`);
    }
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    const Key = this.fullKey(key);
    const Range = range ? rangeHeader(assertByteRange(range)) : undefined;
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key, Range }));
      if (!(out.Body instanceof Readable)) throw new SparkfnError(`GetObject ${this.show(key)} returned no readable body.`);
      // OSS answers a range it finds invalid (past the end) with 200 and the whole object, unless
      // asked for x-oss-range-behavior: standard; some S3 look-alikes ignore Range altogether.
      if (range && out.ContentRange === undefined) return wholeBodyAsRange(out.Body, key, range, out.ContentLength);
      return out.Body;
    } catch (err) {
      if (errorName(err) === 'NoSuchKey') throw new NotFoundError(key);
      if (errorName(err) === 'InvalidRange' || httpStatus(err) === 416) {
        const size = Number((err as { ActualObjectSize?: unknown }).ActualObjectSize ?? (await this.head(key))?.size ?? 0);
        throw new RangeNotSatisfiableError(key, size);
      }
      throw this.failure(err, `get ${this.show(key)}`);
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const Key = this.fullKey(key);
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key }));
      return {
        key,
        size: out.ContentLength ?? 0,
        lastModified: out.LastModified ?? new Date(0),
        ...(out.ContentType !== undefined && { contentType: out.ContentType }),
        ...(out.ContentEncoding !== undefined && { contentEncoding: out.ContentEncoding }),
        metadata: out.Metadata ?? {},
      };
    } catch (err) {
      // A HEAD answer has no body, so a missing bucket looks like a missing key here.
      if (httpStatus(err) === 404) return undefined;
      throw this.failure(err, `head ${this.show(key)}`);
    }
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListPage> {
    const Prefix = this.keyPrefix + assertKeyPrefix(prefix);
    const MaxKeys = listLimit(options.limit);
    try {
      const out = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: Prefix || undefined, MaxKeys, ContinuationToken: options.token || undefined }),
      );
      const objects = (out.Contents ?? []).map((o) => ({
        key: (o.Key ?? '').slice(this.keyPrefix.length),
        size: o.Size ?? 0,
        lastModified: o.LastModified ?? new Date(0),
      }));
      return out.IsTruncated && out.NextContinuationToken ? { objects, nextToken: out.NextContinuationToken } : { objects };
    } catch (err) {
      if (options.token && errorName(err) === 'InvalidArgument') {
        throw new InvalidInputError(`The list token for ${this.show(prefix)} is not one this store issued.`, 'invalid-token');
      }
      throw this.failure(err, `list ${this.show(prefix)}`);
    }
  }

  async delete(key: string): Promise<void> {
    const Key = this.fullKey(key);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key }));
    } catch (err) {
      if (errorName(err) === 'NoSuchKey') return;
      throw this.failure(err, `delete ${this.show(key)}`);
    }
  }

  async deleteMany(keys: readonly string[]): Promise<void> {
    const fullKeys = [...new Set(keys.map((key) => this.fullKey(key)))];
    const failed: string[] = [];
    for (let i = 0; i < fullKeys.length; i += DELETE_BATCH) {
      const batch = fullKeys.slice(i, i + DELETE_BATCH);
      let out;
      try {
        out = await this.client.send(
          new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }),
        );
      } catch (err) {
        throw this.failure(err, `delete ${fullKeys.length} objects in ${this.url}`);
      }
      // DeleteObjects answers 200 even when some keys could not be deleted; those are listed in Errors.
      for (const e of out.Errors ?? []) {
        if (e.Code === 'NoSuchKey') continue;
        failed.push(`${JSON.stringify((e.Key ?? '').slice(this.keyPrefix.length))} (${e.Code ?? 'error'}: ${e.Message ?? 'no message'})`);
      }
    }
    if (failed.length > 0) {
      const shown = failed.slice(0, 5).join('; ');
      throw new SparkfnError(`Could not delete ${failed.length} of ${fullKeys.length} objects in ${this.url}: ${shown}${failed.length > 5 ? '; …' : ''}.`);
    }
  }

  async copy(from: string, to: string, options?: PutOptions): Promise<void> {
    const source = this.fullKey(from);
    const Key = this.fullKey(to);
    assertPutOptions(options);
    assertNotCreateOnly(options, 'copy');
    if (from === to && !options) {
      // S3 refuses to copy an object onto itself unchanged; the result would be the same object anyway.
      if (!(await this.head(from))) throw new NotFoundError(from);
      return;
    }
    try {
      await this.client.send(
        new CopyObjectCommand({
          Bucket: this.bucket,
          Key,
          CopySource: this.copySource(source),
          MetadataDirective: options ? 'REPLACE' : 'COPY',
          ...objectHeaders(options),
        }),
      );
    } catch (err) {
      if (errorName(err) === 'NoSuchKey') throw new NotFoundError(from);
      throw this.failure(err, `copy ${this.show(from)} to ${this.show(to)}`);
    }
  }

  /**
   * Concatenates `sources` into `to`. Without `options` the result takes the first source's
   * content type, encoding and metadata. Uses UploadPartCopy when S3's part rules allow it
   * (every source but the last at least 5 MiB, at most 10,000 parts) and the server has it;
   * otherwise reads the sources one after another into a multipart upload.
   */
  async compose(sources: readonly string[], to: string, options?: PutOptions): Promise<void> {
    if (sources.length === 0) throw new InvalidInputError(`Compose into ${this.show(to)} needs at least one source.`, 'no-sources');
    const Key = this.fullKey(to);
    const sourceKeys = sources.map((source) => this.fullKey(source));
    assertPutOptions(options);
    assertNotCreateOnly(options, 'compose');
    const infos = await mapConcurrently(sources, HEAD_CONCURRENCY, async (source) => {
      const info = await this.head(source);
      if (!info) throw new NotFoundError(source);
      return info;
    });
    const first = infos[0] as ObjectInfo;
    const target = options ?? {
      contentType: first.contentType,
      contentEncoding: first.contentEncoding,
      metadata: first.metadata,
    };
    if (sources.length === 1 && first.size <= MAX_PART_BYTES) {
      await this.copy(sources[0] as string, to, options);
      return;
    }
    const parts = partCopyPlan(sourceKeys, infos.map((info) => info.size));
    if (parts && (await this.supportsPartCopy(sourceKeys[0] as string, Key))) {
      if (await this.composeByPartCopy(parts, Key, target, to)) return;
    }
    const total = infos.reduce((sum, info) => sum + info.size, 0);
    const body = Readable.from(this.concatenate(sources));
    const partSize = Math.max(this.partSize, Math.ceil(total / MAX_PARTS));
    await this.upload({ Bucket: this.bucket, Key, Body: body, ...objectHeaders(target) }, partSize, `compose ${this.show(to)}`);
  }

  private async composeByPartCopy(parts: PartCopy[], Key: string, target: PutOptions, to: string): Promise<boolean> {
    const action = `compose ${this.show(to)} by part copy`;
    let UploadId: string | undefined;
    try {
      UploadId = (await this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key, ...objectHeaders(target) }))).UploadId;
    } catch (err) {
      throw this.failure(err, action);
    }
    if (!UploadId) throw new SparkfnError(`Could not ${action}: CreateMultipartUpload returned no upload id.`);
    try {
      const etags = await mapConcurrently(parts, PART_CONCURRENCY, async (part, index) => {
        const out = await this.client.send(
          new UploadPartCopyCommand({
            Bucket: this.bucket,
            Key,
            UploadId,
            PartNumber: index + 1,
            CopySource: this.copySource(part.source),
            CopySourceRange: part.range && rangeHeader(part.range),
          }),
        );
        return out.CopyPartResult?.ETag;
      });
      await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key,
          UploadId,
          MultipartUpload: { Parts: etags.map((ETag, index) => ({ ETag, PartNumber: index + 1 })) },
        }),
      );
      return true;
    } catch (err) {
      const abortProblem = await this.abortUpload(Key, UploadId);
      // The server has no UploadPartCopy after all: stream instead, now and from now on. An upload
      // that could not be aborted stays behind either way; refusing to compose would not remove it.
      if (isNotImplemented(err)) {
        this.partCopySupport = Promise.resolve(false);
        return false;
      }
      throw this.failure(err, action, abortProblem);
    }
  }

  /**
   * Whether the server implements UploadPartCopy, asked once per store with an upload id that
   * cannot exist, so that no multipart upload is started on a server that would then fail it:
   * s3rver answers 501 to part copy and 405 to AbortMultipartUpload, which would strand it.
   */
  private supportsPartCopy(source: string, Key: string): Promise<boolean> {
    this.partCopySupport ??= this.client
      .send(new UploadPartCopyCommand({ Bucket: this.bucket, Key, UploadId: PROBE_UPLOAD_ID, PartNumber: 1, CopySource: this.copySource(source) }))
      .then(
        () => true,
        (err: unknown) => {
          // Only an HTTP answer settles the question; after a network error ask again next time.
          if (httpStatus(err) === undefined) this.partCopySupport = undefined;
          return !isNotImplemented(err);
        },
      );
    return this.partCopySupport;
  }

  private async *concatenate(sources: readonly string[]): AsyncGenerator<Buffer> {
    for (const source of sources) {
      const stream = await this.get(source);
      for await (const chunk of stream) yield chunk as Buffer;
    }
  }

  /** PutObject or a multipart upload, by size; a failed multipart upload is aborted. */
  private async upload(params: PutObjectCommandInput, partSize: number, action: string): Promise<void> {
    // leavePartsOnError: lib-storage's own abort would replace the upload's error with the abort's.
    const upload = new Upload({ client: this.client, params, partSize, queueSize: PART_CONCURRENCY, leavePartsOnError: true });
    try {
      await upload.done();
    } catch (err) {
      if (params.Body instanceof Readable) params.Body.destroy();
      const abortProblem = upload.uploadId ? await this.abortUpload(params.Key as string, upload.uploadId) : undefined;
      throw this.failure(err, action, abortProblem);
    }
  }

  /** Aborts a multipart upload; returns what went wrong, if anything, for the caller's error. */
  private async abortUpload(Key: string, UploadId: string): Promise<string | undefined> {
    try {
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key, UploadId }));
      return undefined;
    } catch (err) {
      if (errorName(err) === 'NoSuchUpload') return undefined;
      return `aborting multipart upload ${UploadId} failed too (${describe(err)}); a bucket lifecycle rule for incomplete uploads removes it`;
    }
  }

  private fullKey(key: string): string {
    const full = this.keyPrefix + assertObjectKey(key);
    if (Buffer.byteLength(full, 'utf8') > MAX_KEY_BYTES) {
      throw new InvalidInputError(`The key ${JSON.stringify(key.slice(0, 80))} is longer than ${MAX_KEY_BYTES} bytes with the prefix ${JSON.stringify(this.keyPrefix)}.`, 'unsafe-key');
    }
    return full;
  }

  /**
   * `bucket/key` for x-amz-copy-source, URL-encoded per segment as S3 requires (a raw `+` would
   * read as a space). `= : @ ,` stay as they are: legal in a path, and s3rver decodes the header
   * with decodeURI, which leaves their escapes undecoded (keys like `costs/dt=2024-05-01/…`).
   */
  private copySource(fullKey: string): string {
    const encoded = fullKey
      .split('/')
      .map((segment) => encodeURIComponent(segment).replace(/%(3D|3A|40|2C)/g, (escape) => decodeURIComponent(escape)))
      .join('/');
    return `${this.bucket}/${encoded}`;
  }

  private show(key: string): string {
    return `${this.url}/${key}`;
  }

  /** The error to throw for a failed SDK call: a sentence naming the action and what the server or network said. */
  private failure(err: unknown, action: string, abortProblem?: string): Error {
    if (err instanceof SparkfnError) return err;
    const also = abortProblem ? `; ${abortProblem}` : '';
    if (errorName(err) === 'NoSuchBucket') {
      const message = `The bucket ${JSON.stringify(this.bucket)} does not exist at ${this.where}`;
      return new ConfigError(`Could not ${action}: ${message}; create it or point SPARKFN_STORE at another bucket${also}.`, [
        { variable: 'SPARKFN_STORE', message: `${message}; create it or use another bucket` },
      ]);
    }
    return new SparkfnError(`Could not ${action} (${this.where}): ${describe(err)}${also}.`, { cause: err });
  }
}

/** The S3 parts for `sources`, or undefined when S3's part rules do not allow part copy. */
function partCopyPlan(sources: readonly string[], sizes: readonly number[]): PartCopy[] | undefined {
  const parts: PartCopy[] = [];
  for (const [index, source] of sources.entries()) {
    const size = sizes[index] as number;
    if (index < sources.length - 1 && size < MIN_PART_BYTES) return undefined;
    if (size === 0) continue;
    if (size <= MAX_PART_BYTES) {
      parts.push({ source });
      continue;
    }
    const pieces = Math.ceil(size / MAX_PART_BYTES);
    const pieceSize = Math.ceil(size / pieces);
    for (let start = 0; start < size; start += pieceSize) {
      parts.push({ source, range: { start, end: Math.min(start + pieceSize, size) - 1 } });
    }
  }
  return parts.length > 0 && parts.length <= MAX_PARTS ? parts : undefined;
}

function objectHeaders(options: PutOptions | undefined): Pick<PutObjectCommandInput, 'ContentType' | 'ContentEncoding' | 'Metadata'> {
  return {
    ...(options?.contentType !== undefined && { ContentType: options.contentType }),
    ...(options?.contentEncoding !== undefined && { ContentEncoding: options.contentEncoding }),
    ...(options?.metadata !== undefined && { Metadata: options.metadata }),
  };
}

function listLimit(limit: number | undefined): number {
  if (limit === undefined) return 1000;
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new InvalidInputError(`The list limit ${String(limit)} must be a whole number from 1 to 1000.`, 'invalid-limit');
  }
  return Math.min(limit, 1000);
}

function errorName(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'name' in err ? String(err.name) : undefined;
}

function httpStatus(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
}

function isNotImplemented(err: unknown): boolean {
  return errorName(err) === 'NotImplemented' || httpStatus(err) === 501;
}

/** What went wrong, in words: the S3 error code and status, a network error code, or the message. */
function describe(err: unknown): string {
  const status = httpStatus(err);
  if (status !== undefined) return `${errorName(err)} (HTTP ${status}): ${errorMessage(err)}`;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && NETWORK_ERROR_CODES.has(code)) return `the endpoint could not be reached (${code})`;
  if (errorName(err) === 'TimeoutError') return `no answer in time: ${errorMessage(err)}`;
  return errorMessage(err);
}
