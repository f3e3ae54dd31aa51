import type { Readable } from 'node:stream';
import type { Body, ByteRange, ListOptions, ListPage, ObjectInfo, ObjectStore, PutOptions } from '../../shared/store/object-store.js';

/**
 * A real store with a tally of the requests made through it, by method: how the concurrency
 * suites report store requests per event. Every call goes to the wrapped store unchanged.
 */
export class CountingStore implements ObjectStore {
  readonly counts: Record<string, number> = {};
  constructor(private readonly inner: ObjectStore) {}

  get url(): string {
    return this.inner.url;
  }

  /** Every request counted so far. */
  total(): number {
    return Object.values(this.counts).reduce((a, b) => a + b, 0);
  }

  private count(method: string): void {
    this.counts[method] = (this.counts[method] ?? 0) + 1;
  }

  put(key: string, body: Body, options?: PutOptions): Promise<void> {
    this.count('put');
    return this.inner.put(key, body, options);
  }
  get(key: string, range?: ByteRange): Promise<Readable> {
    this.count('get');
    return this.inner.get(key, range);
  }
  head(key: string): Promise<ObjectInfo | undefined> {
    this.count('head');
    return this.inner.head(key);
  }
  list(prefix: string, options?: ListOptions): Promise<ListPage> {
    this.count('list');
    return this.inner.list(prefix, options);
  }
  delete(key: string): Promise<void> {
    this.count('delete');
    return this.inner.delete(key);
  }
  deleteMany(keys: readonly string[]): Promise<void> {
    this.count('deleteMany');
    return this.inner.deleteMany(keys);
  }
  copy(from: string, to: string, options?: PutOptions): Promise<void> {
    this.count('copy');
    return this.inner.copy(from, to, options);
  }
  compose(sources: readonly string[], to: string, options?: PutOptions): Promise<void> {
    this.count('compose');
    return this.inner.compose(sources, to, options);
  }
}
