import { randomUUID } from 'node:crypto';
import { closeSync, createWriteStream, fsyncSync, mkdirSync, openSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { copyFile, link, lstat, mkdir, open, readFile, readdir, rename, rm, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import { InvalidInputError, NotFoundError, PreconditionFailedError, RangeNotSatisfiableError, SparkfnError } from '../errors.js';
import { assertByteRange } from './byte-range.js';
import { mapConcurrently } from './map-concurrently.js';
import { assertKeyPrefix, assertObjectKey, objectKeyProblem } from './object-key.js';
import type { Body, ByteRange, ListOptions, ListPage, ObjectInfo, ObjectStore, ObjectSummary, PutOptions } from './object-store.js';
import { assertNotCreateOnly, assertPutOptions } from './put-options.js';
import { streamToBuffer } from './read.js';

/**
 * The store's own top-level folder: metadata sidecars and temp files. List never shows it and
 * keys may not start with it.
 */
export const RESERVED_DIR = '.sparkfn';
/** Deletes at once in deleteMany. */
const DELETE_CONCURRENCY = 16;
/** Renames retried when a concurrent delete removed the freshly made parent folder. */
const RENAME_ATTEMPTS = 4;
/**
 * Bodies up to this size (log chunks, dead letters, state files) are written with synchronous
 * calls: a put is then four syscalls on the calling thread (write the temp file and the metadata
 * temp file, two renames), where the promise API spends eight trips through libuv's threadpool,
 * which it shares with zlib. Measured at about a third of the CPU per object, and well under a
 * millisecond of blocking per object on a local disk. Larger bodies and streams stay asynchronous.
 */
const SYNC_WRITE_MAX_BYTES = 256 * 1024;

/** How a FileObjectStore writes. */
export interface FileStoreOptions {
  /**
   * fsync each object's file and metadata before the rename that publishes them, and the folders
   * that gained an entry after it: a write that returned survives a power loss or a kernel crash,
   * not only a killed process. Costs a disk flush per file (milliseconds on network disks).
   * Deletes are not synced: a delete lost to a crash is redone by the next run (janitor, compaction).
   */
  fsync?: boolean;
}

interface StoredMeta {
  contentType?: string;
  contentEncoding?: string;
  metadata?: Record<string, string>;
}

/**
 * ObjectStore in a directory (`file://dir`), the embedded default. An object is the file
 * `dir/<key>`, so the tree can be read with ordinary tools; content type, encoding and metadata
 * live in a mirror tree under `dir/.sparkfn/meta/`. Every write goes to a temp file under
 * `dir/.sparkfn/tmp/` (same filesystem) and is renamed into place, so readers see the old or
 * the new bytes, never a mix; with `fsync` the write also survives a power loss (see
 * FileStoreOptions). Metadata is replaced just before the bytes, so a concurrent
 * head may briefly pair new metadata with old bytes. Unlike S3, a key cannot also be the folder
 * of other keys (`a` and `a/b`): such a put throws InvalidInputError.
 * @example
 * const store = new FileObjectStore('.sparkfn-data');
 * await store.put('logs/spark-1/exec-1/stdout.log.gz', gzipped, { contentEncoding: 'gzip' });
 */
export class FileObjectStore implements ObjectStore {
  readonly url: string;
  /** Absolute path of the directory. */
  readonly dir: string;
  private readonly metaDir: string;
  private readonly tmpDir: string;
  /** The temp folder was made by this instance (it is made again if it disappears). */
  private tmpReady = false;
  /** Whether writes are fsynced (FileStoreOptions.fsync). */
  readonly fsync: boolean;

  constructor(dir: string, options: FileStoreOptions = {}) {
    this.fsync = options.fsync ?? false;
    this.dir = resolve(dir);
    this.url = pathToFileURL(this.dir).href;
    this.metaDir = join(this.dir, RESERVED_DIR, 'meta');
    this.tmpDir = join(this.dir, RESERVED_DIR, 'tmp');
  }

  async put(key: string, body: Body, options?: PutOptions): Promise<void> {
    this.check(key);
    assertPutOptions(options);
    if (options?.ifNoneMatch === '*') {
      await this.putCreateOnly(key, body instanceof Readable ? await streamToBuffer(body) : body, storedMeta(options));
      return;
    }
    if (!(body instanceof Readable) && (typeof body === 'string' ? body.length * 3 : body.byteLength) <= SYNC_WRITE_MAX_BYTES) {
      this.putSmall(key, body, storedMeta(options));
      return;
    }
    const temp = this.tempFile();
    try {
      if (body instanceof Readable) await this.inTemp(() => pipeline(body, createWriteStream(temp, { flags: 'wx' })));
      else await this.writeTemp(temp, body);
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
    await this.commit(temp, key, storedMeta(options));
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    const path = this.dataPath(this.check(key));
    if (range) assertByteRange(range);
    const handle = await open(path, 'r').catch((err: unknown) => {
      throw isMissing(err) ? new NotFoundError(key) : err;
    });
    try {
      // Size from the open file: a rename replacing the object now does not change what this reads.
      const info = await handle.stat();
      if (!info.isFile()) throw new NotFoundError(key);
      if (!range) return handle.createReadStream();
      if (range.start >= info.size) throw new RangeNotSatisfiableError(key, info.size);
      return handle.createReadStream({ start: range.start, end: Math.min(range.end ?? Infinity, info.size - 1) });
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const info = await stat(this.dataPath(this.check(key))).catch((err: unknown) => {
      if (isMissing(err)) return undefined;
      throw err;
    });
    if (!info?.isFile()) return undefined;
    const meta = await this.readMeta(key);
    return {
      key,
      size: info.size,
      lastModified: info.mtime,
      ...(meta.contentType !== undefined && { contentType: meta.contentType }),
      ...(meta.contentEncoding !== undefined && { contentEncoding: meta.contentEncoding }),
      metadata: meta.metadata ?? {},
    };
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListPage> {
    assertKeyPrefix(prefix);
    const limit = listLimit(options.limit);
    const after = options.token === undefined ? undefined : decodeToken(options.token);
    const objects: ObjectSummary[] = [];
    for await (const key of this.walk('', prefix, after)) {
      if (objects.length === limit) return { objects, nextToken: encodeToken(objects[objects.length - 1]!.key) };
      const info = await stat(this.dataPath(key)).catch(() => undefined);
      // Deleted since the folder was read.
      if (info?.isFile()) objects.push({ key, size: info.size, lastModified: info.mtime });
    }
    return { objects };
  }

  async delete(key: string): Promise<void> {
    this.check(key);
    const data = this.dataPath(key);
    const meta = this.metaPath(key);
    await removeFile(data);
    await removeFile(meta);
    await pruneEmptyFolders(dirname(data), this.dir);
    await pruneEmptyFolders(dirname(meta), this.metaDir);
  }

  async deleteMany(keys: readonly string[]): Promise<void> {
    for (const key of keys) this.check(key);
    await mapConcurrently([...new Set(keys)], DELETE_CONCURRENCY, (key) => this.delete(key));
  }

  async copy(from: string, to: string, options?: PutOptions): Promise<void> {
    this.check(from);
    this.check(to);
    assertPutOptions(options);
    assertNotCreateOnly(options, 'copy');
    const meta = options ? storedMeta(options) : await this.readMeta(from);
    const temp = this.tempFile();
    try {
      await this.inTemp(() => copyFile(this.dataPath(from), temp));
    } catch (err) {
      await rm(temp, { force: true });
      throw isMissing(err) || (err as NodeJS.ErrnoException).code === 'EISDIR' ? new NotFoundError(from) : err;
    }
    await this.commit(temp, to, meta);
  }

  /** Concatenates `sources` into `to`; without `options` the result takes the first source's metadata. */
  async compose(sources: readonly string[], to: string, options?: PutOptions): Promise<void> {
    if (sources.length === 0) throw new InvalidInputError(`Compose into ${JSON.stringify(to)} needs at least one source.`, 'no-sources');
    for (const source of sources) this.check(source);
    this.check(to);
    assertPutOptions(options);
    assertNotCreateOnly(options, 'compose');
    for (const source of sources) {
      if (!(await this.head(source))) throw new NotFoundError(source);
    }
    const meta = options ? storedMeta(options) : await this.readMeta(sources[0] as string);
    const temp = this.tempFile();
    const get = (source: string) => this.get(source);
    try {
      await this.inTemp(() =>
        pipeline(async function* () {
          for (const source of sources) yield* await get(source);
        }, createWriteStream(temp, { flags: 'wx' })),
      );
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
    await this.commit(temp, to, meta);
  }

  /**
   * Yields the keys under `relDir` that start with `prefix` and sort after `after`, in UTF-8
   * byte order. A folder `x` holds exactly the keys that start with `x/`, so sorting a folder's
   * entries by name (plus `/` for folders) orders the keys as S3 does.
   */
  private async *walk(relDir: string, prefix: string, after: string | undefined): AsyncGenerator<string> {
    const entries = await readdir(join(this.dir, ...relDir.split('/').filter(Boolean)), { withFileTypes: true }).catch((err: unknown) => {
      if (isMissing(err)) return [];
      throw err;
    });
    const items = entries
      .filter((entry) => (entry.isFile() || entry.isDirectory()) && !(relDir === '' && entry.name === RESERVED_DIR))
      .map((entry) => {
        const path = relDir + entry.name + (entry.isDirectory() ? '/' : '');
        return { path, isDir: entry.isDirectory(), bytes: Buffer.from(path) };
      })
      .sort((a, b) => Buffer.compare(a.bytes, b.bytes));
    for (const { path, isDir } of items) {
      if (isDir) {
        if (!path.startsWith(prefix) && !prefix.startsWith(path)) continue;
        // Everything in this folder sorts before `after`.
        if (after !== undefined && compareKeys(path, after) < 0 && !after.startsWith(path)) continue;
        yield* this.walk(path, prefix, after);
      } else if (path.startsWith(prefix) && (after === undefined || compareKeys(path, after) > 0) && objectKeyProblem(path) === undefined) {
        yield path;
      }
    }
  }

  /** Writes the metadata sidecar (or removes a stale one), then renames `temp` into place as `key`. */
  private async commit(temp: string, key: string, meta: StoredMeta | undefined): Promise<void> {
    try {
      if (this.fsync) await syncPath(temp);
      if (meta) {
        const metaTemp = this.tempFile();
        await this.writeTemp(metaTemp, JSON.stringify(meta));
        if (this.fsync) await syncPath(metaTemp);
        await this.published(this.metaPath(key), this.dir, await this.moveInto(metaTemp, this.metaPath(key), key));
      } else {
        await removeFile(this.metaPath(key));
      }
      await this.published(this.dataPath(key), this.dir, await this.moveInto(temp, this.dataPath(key), key));
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
  }

  /**
   * With fsync, makes the rename to `target` durable: its folder, and when folders were made
   * for it (`madeFolders`), every folder above it up to `root`, which gained those entries.
   */
  private async published(target: string, root: string, madeFolders: boolean): Promise<void> {
    if (!this.fsync) return;
    for (const folder of foldersUp(target, root, madeFolders)) await syncPath(folder);
  }

  private publishedSync(target: string, root: string, madeFolders: boolean): void {
    if (!this.fsync) return;
    for (const folder of foldersUp(target, root, madeFolders)) syncPathSync(folder);
  }

  /**
   * Renames `temp` to `target` (true when it had to make the folder). The folder usually exists already (an executor's chunks share
   * one), so the rename is tried first and the folder made only when it is missing: one
   * filesystem call per object instead of a mkdir (two calls: mkdir, then stat on EEXIST) and a rename.
   */
  private async moveInto(temp: string, target: string, key: string): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      try {
        if (attempt > 1) await mkdir(dirname(target), { recursive: true });
        await rename(temp, target);
        return attempt > 1;
      } catch (err) {
        // The folder is missing: made on the next try. A delete of the last key in that folder may
        // also remove it again between that mkdir and the rename: tried again too.
        if ((err as NodeJS.ErrnoException).code === 'ENOENT' && attempt < RENAME_ATTEMPTS) continue;
        await rm(temp, { force: true });
        throw this.renameError(err, key);
      }
    }
  }

  /**
   * A create-only put: the bytes go to a temp file that is hard-linked to the key, and link(2)
   * fails with EEXIST when a name is there, so of two writers exactly one wins, atomically. The
   * metadata sidecar is written after the data, by the winner only (a loser must not replace
   * it): a head racing the put may see the object briefly without its metadata.
   */
  private async putCreateOnly(key: string, body: string | Uint8Array, meta: StoredMeta | undefined): Promise<void> {
    const temp = this.tempFile();
    try {
      await this.writeTemp(temp, body);
      if (this.fsync) await syncPath(temp);
      await this.published(this.dataPath(key), this.dir, await this.linkInto(temp, this.dataPath(key), key));
    } finally {
      await rm(temp, { force: true });
    }
    if (!meta) {
      await removeFile(this.metaPath(key));
      return;
    }
    const metaTemp = this.tempFile();
    await this.writeTemp(metaTemp, JSON.stringify(meta));
    if (this.fsync) await syncPath(metaTemp);
    await this.published(this.metaPath(key), this.dir, await this.moveInto(metaTemp, this.metaPath(key), key));
  }

  /** Hard-links `temp` as `target` (true when it had to make the folder); PreconditionFailedError when `target` exists. */
  private async linkInto(temp: string, target: string, key: string): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      try {
        if (attempt > 1) await mkdir(dirname(target), { recursive: true });
        await link(temp, target);
        return attempt > 1;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' && attempt < RENAME_ATTEMPTS) continue;
        if (code === 'EEXIST') {
          const existing = await lstat(target).catch(() => undefined);
          if (existing?.isFile()) throw new PreconditionFailedError(key);
        }
        throw this.renameError(err, key);
      }
    }
  }

  /** put for a small body in memory, with synchronous calls (see SYNC_WRITE_MAX_BYTES); the same steps as the asynchronous path. */
  private putSmall(key: string, body: string | Uint8Array, meta: StoredMeta | undefined): void {
    const temp = this.tempFile();
    const metaTemp = meta ? this.tempFile() : undefined;
    try {
      this.writeTempSync(temp, body);
      if (metaTemp) {
        this.writeTempSync(metaTemp, JSON.stringify(meta));
        this.publishedSync(this.metaPath(key), this.dir, this.moveIntoSync(metaTemp, this.metaPath(key), key));
      } else {
        try {
          unlinkSync(this.metaPath(key));
        } catch (err) {
          if (!isMissing(err) && (err as NodeJS.ErrnoException).code !== 'EISDIR') throw err;
        }
      }
      this.publishedSync(this.dataPath(key), this.dir, this.moveIntoSync(temp, this.dataPath(key), key));
    } catch (err) {
      rmSync(temp, { force: true });
      if (metaTemp) rmSync(metaTemp, { force: true });
      throw err;
    }
  }

  private writeTempSync(temp: string, body: string | Uint8Array): void {
    if (!this.tmpReady) {
      mkdirSync(this.tmpDir, { recursive: true });
      this.tmpReady = true;
    }
    const write = (): void => {
      const fd = openSync(temp, 'wx');
      try {
        writeFileSync(fd, body);
        if (this.fsync) fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    };
    try {
      write();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      mkdirSync(this.tmpDir, { recursive: true });
      write();
    }
  }

  private moveIntoSync(temp: string, target: string, key: string): boolean {
    for (let attempt = 1; ; attempt++) {
      try {
        if (attempt > 1) mkdirSync(dirname(target), { recursive: true });
        renameSync(temp, target);
        return attempt > 1;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT' && attempt < RENAME_ATTEMPTS) continue;
        throw this.renameError(err, key);
      }
    }
  }

  /** What a failed rename into `key`'s place means for the caller. */
  private renameError(err: unknown, key: string): unknown {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENAMETOOLONG') {
      return new InvalidInputError(`The key ${JSON.stringify(key.slice(0, 80))} has a segment longer than this filesystem allows (usually 255 bytes).`, 'unsafe-key');
    }
    if (code === 'ENOTDIR' || code === 'EEXIST' || code === 'EISDIR' || code === 'ENOTEMPTY') {
      return new InvalidInputError(
        `The key ${JSON.stringify(key)} collides with another key in ${this.url}: a file store cannot hold both a key and keys under it as a folder (a and a/b).`,
        'key-conflict',
      );
    }
    return err;
  }

  private async readMeta(key: string): Promise<StoredMeta> {
    try {
      return JSON.parse(await readFile(this.metaPath(key), 'utf8')) as StoredMeta;
    } catch (err) {
      if (isMissing(err)) return {};
      if (err instanceof SyntaxError) throw new SparkfnError(`The metadata of ${JSON.stringify(key)} in ${this.url} is not valid JSON.`, { cause: err });
      throw err;
    }
  }

  /** A fresh temp file name; the folder is made by writeTemp / inTemp when it is missing. */
  private tempFile(): string {
    return join(this.tmpDir, `${process.pid}-${randomUUID()}`);
  }

  /** Writes a new temp file (the `wx` flag: never one that exists). */
  private writeTemp(temp: string, body: string | Uint8Array): Promise<void> {
    return this.inTemp(() => writeFile(temp, body, { flag: 'wx' }));
  }

  /**
   * Runs a write into the temp folder, making the folder first only when it is missing (the
   * first write, or someone removed it): saves a mkdir per object.
   */
  private async inTemp<T>(write: () => Promise<T>): Promise<T> {
    if (!this.tmpReady) {
      await mkdir(this.tmpDir, { recursive: true });
      this.tmpReady = true;
    }
    try {
      return await write();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      await mkdir(this.tmpDir, { recursive: true });
      return write();
    }
  }

  private check(key: string): string {
    assertObjectKey(key);
    if (key === RESERVED_DIR || key.startsWith(`${RESERVED_DIR}/`)) {
      throw new InvalidInputError(`The key ${JSON.stringify(key)} is in ${RESERVED_DIR}/, which the file store keeps for itself.`, 'unsafe-key');
    }
    return key;
  }

  // Keys are checked first: no empty, `.` or `..` segment, not absolute, no backslash or NUL,
  // so joining their segments cannot leave the directory.
  private dataPath(key: string): string {
    return join(this.dir, ...key.split('/'));
  }

  private metaPath(key: string): string {
    return join(this.metaDir, ...key.split('/'));
  }
}

function storedMeta(options: PutOptions | undefined): StoredMeta | undefined {
  if (!options) return undefined;
  const meta: StoredMeta = {
    ...(options.contentType !== undefined && { contentType: options.contentType }),
    ...(options.contentEncoding !== undefined && { contentEncoding: options.contentEncoding }),
    ...(options.metadata && Object.keys(options.metadata).length > 0 && { metadata: { ...options.metadata } }),
  };
  return Object.keys(meta).length > 0 ? meta : undefined;
}

function listLimit(limit: number | undefined): number {
  if (limit === undefined) return 1000;
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new InvalidInputError(`The list limit ${String(limit)} must be a whole number from 1 to 1000.`, 'invalid-limit');
  }
  return Math.min(limit, 1000);
}

function encodeToken(lastKey: string): string {
  return Buffer.from(lastKey, 'utf8').toString('base64url');
}

function decodeToken(token: string): string {
  const key = Buffer.from(token, 'base64url').toString('utf8');
  if (objectKeyProblem(key) !== undefined || encodeToken(key) !== token) {
    throw new InvalidInputError(`The list token ${JSON.stringify(token.slice(0, 80))} is not one this store issued.`, 'invalid-token');
  }
  return key;
}

function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'ENAMETOOLONG';
}

async function removeFile(path: string): Promise<void> {
  await unlink(path).catch((err: unknown) => {
    // EISDIR: a folder at that path holds other keys, so there is no object to delete.
    if (isMissing(err) || (err as NodeJS.ErrnoException).code === 'EISDIR') return;
    throw err;
  });
}

/** Removes `from` and its parents up to (not including) `root` while they are empty. */
async function pruneEmptyFolders(from: string, root: string): Promise<void> {
  for (let folder = from; folder.startsWith(root + sep); folder = dirname(folder)) {
    try {
      await rmdir(folder);
    } catch {
      // Not empty (or already gone, or a put is filling it right now): parents are not empty either.
      return;
    }
  }
}

/** fsync of a file or folder (Linux syncs a folder's entries through a read-only descriptor). */
async function syncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function syncPathSync(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** The folder of `target`, and when `all`, every folder above it up to and including `root`. */
function foldersUp(target: string, root: string, all: boolean): string[] {
  const folders = [dirname(target)];
  if (all) {
    for (let folder = dirname(target); folder !== root && folder.startsWith(root + sep); ) {
      folder = dirname(folder);
      folders.push(folder);
    }
  }
  return folders;
}
