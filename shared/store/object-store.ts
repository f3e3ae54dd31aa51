import type { Readable } from 'node:stream';

/** What a put may carry besides the bytes. Metadata keys are lower-case ASCII (S3 user metadata rules). */
export interface PutOptions {
  contentType?: string;
  contentEncoding?: string;
  metadata?: Record<string, string>;
  /**
   * `'*'`: create only, never overwrite. When an object is already at the key the put throws
   * PreconditionFailedError and leaves it as it was. The filesystem store enforces it (a hard
   * link, which fails when the name exists), as do S3 (`If-None-Match: *`) and OSS
   * (`x-oss-forbid-overwrite: true`); s3rver and some S3 look-alikes ignore it and overwrite, so
   * `sparkfn doctor` reports whether the configured store enforces it (see probeCreateOnly) and no
   * correctness may rest on it where it does not. Bodies of create-only puts are held in memory.
   */
  ifNoneMatch?: '*';
}

/** A byte range, both ends inclusive as in HTTP `Range: bytes=start-end`; `end` omitted means to the end. */
export interface ByteRange {
  start: number;
  end?: number;
}

export interface ObjectSummary {
  key: string;
  size: number;
  lastModified: Date;
}

export interface ObjectInfo extends ObjectSummary {
  contentType?: string;
  contentEncoding?: string;
  metadata: Record<string, string>;
}

export interface ListOptions {
  /** Token from a previous page's `nextToken`. */
  token?: string;
  /** Most keys in one page (default and cap: 1000, as S3). */
  limit?: number;
}

export interface ListPage {
  objects: ObjectSummary[];
  /** Present when more keys follow. */
  nextToken?: string;
}

export type Body = Buffer | Uint8Array | string | Readable;

/**
 * The object store every function keeps its state in: OSS, AWS S3 or any S3 API, or a
 * directory (`file://dir`) for the embedded default. Keys are `/`-separated and relative to
 * the configured prefix. Writes of one key are atomic (a reader sees the old or the new
 * object, never a mix), so a retried invocation overwrites what it wrote before.
 */
export interface ObjectStore {
  /** Human-readable location, e.g. `s3://bucket/prefix` or `file:///var/lib/sparkfn`. */
  readonly url: string;
  put(key: string, body: Body, options?: PutOptions): Promise<void>;
  /** The object's bytes as a stream; NotFoundError when missing, RangeNotSatisfiableError when the range starts past the end. */
  get(key: string, range?: ByteRange): Promise<Readable>;
  /** Metadata of one object, or undefined when missing. */
  head(key: string): Promise<ObjectInfo | undefined>;
  /** One page of keys under `prefix`, in lexicographic (UTF-8 byte) order. */
  list(prefix: string, options?: ListOptions): Promise<ListPage>;
  /** Deletes one key; deleting a missing key is not an error. */
  delete(key: string): Promise<void>;
  /** Deletes many keys (batched as the backend allows); missing keys are not an error. */
  deleteMany(keys: readonly string[]): Promise<void>;
  /** Server-side copy; `options` replaces the metadata when given, else it is kept. */
  copy(from: string, to: string, options?: PutOptions): Promise<void>;
  /**
   * Writes the concatenation of `sources`, in order, to `to`. S3-like stores use multipart
   * upload-part-copy where every part but the last is at least 5 MiB, and fall back to a
   * streaming concatenation where a server does not implement part-copy (s3rver).
   */
  compose(sources: readonly string[], to: string, options?: PutOptions): Promise<void>;
}
