import { Readable, Transform } from 'node:stream';
import type { Body, ByteRange, ListOptions, ListPage, ObjectInfo, ObjectStore, PutOptions } from '../../shared/store/object-store.js';

/** One GET as the store answered it: the key, the range asked for, and the bytes it returned. */
export interface GetRecord {
  key: string;
  range?: ByteRange;
  bytes: number;
}

/**
 * A real store that records every request made through it and counts the bytes each GET
 * returned (as they are read), so a test or benchmark can assert what a reader fetched.
 * Every call goes to the wrapped store unchanged.
 */
export class ByteCountingStore implements ObjectStore {
  readonly gets: GetRecord[] = [];
  readonly heads: string[] = [];
  readonly lists: string[] = [];
  constructor(private readonly inner: ObjectStore) {}

  get url(): string {
    return this.inner.url;
  }

  /** Forgets what was recorded so far. */
  reset(): void {
    this.gets.length = 0;
    this.heads.length = 0;
    this.lists.length = 0;
  }

  /** Bytes every GET of `key` (or of all keys) returned so far. */
  bytesRead(key?: string): number {
    return this.gets.filter((g) => key === undefined || g.key === key).reduce((n, g) => n + g.bytes, 0);
  }

  async get(key: string, range?: ByteRange): Promise<Readable> {
    const entry: GetRecord = { key, ...(range && { range }), bytes: 0 };
    const body = await this.inner.get(key, range);
    this.gets.push(entry);
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        entry.bytes += chunk.length;
        done(null, chunk);
      },
    });
    // A reader that stops early destroys the counter: the store's stream must go too.
    counter.once('close', () => body.destroy());
    body.once('error', (err) => counter.destroy(err));
    return body.pipe(counter);
  }
  head(key: string): Promise<ObjectInfo | undefined> {
    this.heads.push(key);
    return this.inner.head(key);
  }
  list(prefix: string, options?: ListOptions): Promise<ListPage> {
    this.lists.push(prefix);
    return this.inner.list(prefix, options);
  }
  put(key: string, body: Body, options?: PutOptions): Promise<void> {
    return this.inner.put(key, body, options);
  }
  delete(key: string): Promise<void> {
    return this.inner.delete(key);
  }
  deleteMany(keys: readonly string[]): Promise<void> {
    return this.inner.deleteMany(keys);
  }
  copy(from: string, to: string, options?: PutOptions): Promise<void> {
    return this.inner.copy(from, to, options);
  }
  compose(sources: readonly string[], to: string, options?: PutOptions): Promise<void> {
    return this.inner.compose(sources, to, options);
  }
}
