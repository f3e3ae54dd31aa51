/**
 * List-then-watch with relist on 410 and reconnect with backoff, delivering every change of
 * every object exactly once, in order (a reflector without the cache).
 *
 * Listing goes through `requestJson` (raw JSON over the KubeConfig's agent and credentials)
 * rather than the typed APIs: the path is generic, and raw list items have the same shape as
 * the raw objects client-node's `Watch` hands over, so a consumer sees one kind of object.
 * Watching uses client-node's `Watch` class as is. In 1.4.0 it has no client-side timeout (the
 * 30 s AbortSignal it builds is overwritten), so every watch asks the server for
 * `timeoutSeconds` to bound a silently dead connection.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { classifyApiError, type ClassifiedApiError } from './classify-api-error.js';
import { requestJson } from './raw-request.js';
import { listEveryPage, type ListPage } from './list-pages.js';
import { loadKubeClient } from './load-client.js';

/** The part of an object the watch needs. */
export interface KubeObjectLike {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; uid?: string; resourceVersion?: string };
}

/**
 * One change. `ADDED` is the first time this watch delivers the object, `MODIFIED` a newer
 * version of one it delivered, `DELETED` its disappearance (with the last known content when
 * the deletion was noticed by a relist). `origin` says where it came from: the initial list,
 * the watch stream, or a relist that caught up with changes the stream missed.
 */
export interface WatchEvent<T extends KubeObjectLike = KubeObjectLike> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: T;
  origin: 'initial-list' | 'watch' | 'relist';
  /**
   * The version this watch delivered last for the object (MODIFIED and DELETED): what a
   * consumer filtering the stream on labels knew it as. Held anyway for relists; costs nothing.
   */
  previous?: T;
}

/** Progress reports, for logs and metrics. */
export type WatchStatus =
  | { type: 'listed'; resourceVersion: string; items: number }
  | { type: 'watching'; resourceVersion: string }
  | { type: 'bookmark'; resourceVersion: string }
  | { type: 'expired'; resourceVersion: string }
  | { type: 'retrying'; error: ClassifiedApiError; delayMs: number };

/** Delay before the first retry and the cap the doubling stops at. */
export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
}

/** client-go's reflector backs off from 800 ms up to 30 s. */
export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 800, maxMs: 30_000 };
/** client-go lists in pages of 500. */
export const DEFAULT_PAGE_SIZE = 500;
/** Like client-go, each watch asks the server to end it after 5–10 minutes (randomised so that watchers do not reconnect in step). */
export const MIN_WATCH_TIMEOUT_SECONDS = 300;
/**
 * Wait after a 429 that came without Retry-After: client-node's Watch drops the headers of a
 * non-200 answer, and kube-apiserver's priority and fairness always asks for 1 s.
 */
const THROTTLED_DELAY_MS = 1_000;
/** A watch that ends sooner than this without delivering anything counts as a failure for backoff. */
const MIN_HEALTHY_WATCH_MS = 1_000;
/** A paginated list restarts from scratch when a continue token expires; at most this many times in a row. */
const MAX_LIST_RESTARTS = 5;

/** What to watch, where events go, and how to stop. */
export interface WatchResourceOptions<T extends KubeObjectLike> {
  kubeConfig: KubeConfig;
  /** Collection path: `/api/v1/namespaces/spark/pods`, `/api/v1/pods`, `/apis/sparkoperator.k8s.io/v1beta2/namespaces/spark/sparkapplications`. */
  path: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Called for each change, one at a time; the next waits for the returned promise. A throw stops the watch. */
  onEvent: (event: WatchEvent<T>) => void | Promise<void>;
  /** Stops the watch; `done` then resolves. */
  signal?: AbortSignal;
  onStatus?: (status: WatchStatus) => void;
  pageSize?: number;
  /** Server-side timeout of each watch request; randomised between MIN_WATCH_TIMEOUT_SECONDS and twice that when unset. */
  timeoutSeconds?: number;
  backoff?: Partial<BackoffOptions>;
  random?: () => number;
}

/** Counters of what the watch did, for tests, logs and metrics. */
export interface WatchStats {
  lists: number;
  watches: number;
  /** 410 Gone answers (HTTP or ERROR event) that forced a relist. */
  expired: number;
  /** Streams that broke or failed to open and were retried after a backoff. */
  retries: number;
  delivered: number;
  /** Events delivered from a relist: changes and deletions the stream missed. */
  synthesized: number;
  /** Events not delivered because that version (or a newer one) already was. */
  skipped: number;
}

/** A running watch. */
export interface ResourceWatch {
  /** Resolves once the first list has been delivered; rejects if the watch ends first. */
  readonly synced: Promise<void>;
  /** Resolves when the signal aborts; rejects with the error if `onEvent` throws. */
  readonly done: Promise<void>;
  readonly stats: Readonly<WatchStats>;
}

/** Capped exponential backoff with jitter: between half and all of min(max, initial × 2^attempt). */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const ceiling = Math.min(options.maxMs, options.initialMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/** resourceVersions are opaque, but etcd's are integers: compare them as such when they are. */
function isNewer(candidate: string | undefined, known: string | undefined): boolean {
  if (candidate === undefined || known === undefined) return true;
  if (/^\d+$/.test(candidate) && /^\d+$/.test(known)) return BigInt(candidate) > BigInt(known);
  return candidate !== known;
}

function identity(object: KubeObjectLike): string {
  const m = object.metadata ?? {};
  return m.uid ?? `${m.namespace ?? ''}/${m.name ?? ''}`;
}

class HandlerError extends Error {
  constructor(readonly original: unknown) {
    super('onEvent threw');
  }
}

type StreamItem = { kind: 'event'; type: string; object: KubeObjectLike } | { kind: 'end'; error: unknown };

/** An unbounded FIFO the Watch callback pushes into and the delivery loop awaits. */
class Inbox {
  private readonly items: StreamItem[] = [];
  private wake: (() => void) | undefined;

  push(item: StreamItem): void {
    this.items.push(item);
    this.wake?.();
  }

  /** True when the next item is the end of the stream. */
  peekEnd(): boolean {
    return this.items[0]?.kind === 'end';
  }

  async next(): Promise<StreamItem> {
    while (this.items.length === 0) await new Promise<void>((r) => (this.wake = r));
    this.wake = undefined;
    return this.items.shift()!;
  }
}

type WatchOutcome = { kind: 'expired'; events: number; error: unknown } | { kind: 'closed'; events: number } | { kind: 'failed'; error: unknown; events: number };

class Reflector<T extends KubeObjectLike> {
  readonly stats: WatchStats = { lists: 0, watches: 0, expired: 0, retries: 0, delivered: 0, synthesized: 0, skipped: 0 };
  /** Last delivered version of every object that currently exists, by uid. */
  private readonly known = new Map<string, { resourceVersion?: string; object: T }>();
  private resourceVersion = '';
  private listedOnce = false;
  private readonly backoff: BackoffOptions;
  private readonly random: () => number;
  private readonly signal: AbortSignal;

  constructor(
    private readonly options: WatchResourceOptions<T>,
    private readonly onSynced: () => void,
  ) {
    this.backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
    this.random = options.random ?? Math.random;
    this.signal = options.signal ?? new AbortController().signal;
  }

  async run(): Promise<void> {
    let needList = true;
    let attempt = 0;
    let expiredInARow = 0;
    while (!this.signal.aborted) {
      if (needList) {
        try {
          await this.relist();
          needList = false;
          attempt = 0;
        } catch (err) {
          if (err instanceof HandlerError) throw err.original;
          if (this.signal.aborted) return;
          await this.retry(classifyApiError(err), attempt++);
          continue;
        }
      }
      const started = Date.now();
      let outcome: WatchOutcome;
      try {
        outcome = await this.watchOnce();
      } catch (err) {
        throw err instanceof HandlerError ? err.original : err;
      }
      if (this.signal.aborted) return;
      if (outcome.kind === 'expired') {
        this.stats.expired++;
        this.options.onStatus?.({ type: 'expired', resourceVersion: this.resourceVersion });
        needList = true;
        // A fresh list's version expiring again at once means history is churning faster than we list: slow down.
        expiredInARow = outcome.events > 0 ? 1 : expiredInARow + 1;
        if (expiredInARow > 1) await this.retry(classifyApiError(outcome.error), attempt++);
        continue;
      }
      expiredInARow = 0;
      if (outcome.kind === 'closed') {
        // A server-side timeout of a healthy watch: resume at once from where it stopped.
        if (outcome.events > 0 || Date.now() - started >= MIN_HEALTHY_WATCH_MS) {
          attempt = 0;
          continue;
        }
        await this.retry({ class: 'transient', message: 'The watch closed at once without events.', retryable: true }, attempt++);
        continue;
      }
      if (outcome.events > 0) attempt = 0;
      await this.retry(classifyApiError(outcome.error), attempt++);
    }
  }

  private async retry(error: ClassifiedApiError, attempt: number): Promise<void> {
    this.stats.retries++;
    const base = backoffDelay(attempt, this.backoff, this.random);
    const floorMs = error.retryAfterSeconds !== undefined ? error.retryAfterSeconds * 1000 : error.class === 'throttled' ? THROTTLED_DELAY_MS : 0;
    const delayMs = Math.max(base, floorMs);
    this.options.onStatus?.({ type: 'retrying', error, delayMs });
    await sleep(delayMs, this.signal);
  }

  private async emit(event: WatchEvent<T>): Promise<void> {
    this.stats.delivered++;
    if (event.origin === 'relist') this.stats.synthesized++;
    try {
      await this.options.onEvent(event);
    } catch (err) {
      throw new HandlerError(err);
    }
  }

  private async relist(): Promise<void> {
    const { kubeConfig, path, labelSelector, fieldSelector } = this.options;
    // Lists of built-in types leave kind/apiVersion out of items; watch events carry them.
    const { items, resourceVersion: listResourceVersion } = await listEveryPage<T>(
      (continueToken) =>
        requestJson<ListPage<T>>(kubeConfig, {
          path,
          query: { labelSelector, fieldSelector, limit: this.options.pageSize ?? DEFAULT_PAGE_SIZE, continue: continueToken },
          signal: this.signal,
        }),
      MAX_LIST_RESTARTS,
      (item, page) => ({ apiVersion: page.apiVersion, kind: page.kind?.replace(/List$/, ''), ...item }),
    );
    this.stats.lists++;
    const origin = this.listedOnce ? 'relist' : 'initial-list';
    const present = new Set<string>();
    for (const object of items) {
      const id = identity(object);
      present.add(id);
      const previous = this.known.get(id);
      const version = object.metadata?.resourceVersion;
      if (previous && !isNewer(version, previous.resourceVersion)) {
        this.stats.skipped++;
        continue;
      }
      this.known.set(id, { resourceVersion: version, object });
      await this.emit(previous ? { type: 'MODIFIED', object, origin, previous: previous.object } : { type: 'ADDED', object, origin });
    }
    const vanished = [...this.known].filter(([id]) => !present.has(id));
    for (const [id, previous] of vanished) {
      this.known.delete(id);
      await this.emit({ type: 'DELETED', object: previous.object, origin, previous: previous.object });
    }
    this.resourceVersion = listResourceVersion;
    this.listedOnce = true;
    this.options.onStatus?.({ type: 'listed', resourceVersion: listResourceVersion, items: items.length });
    this.onSynced();
  }

  private async fromStream(type: string, object: T): Promise<void> {
    const id = identity(object);
    const version = object.metadata?.resourceVersion;
    const previous = this.known.get(id);
    if (version) this.resourceVersion = version;
    if (type === 'DELETED') {
      if (!previous) {
        this.stats.skipped++;
        return;
      }
      this.known.delete(id);
      await this.emit({ type: 'DELETED', object, origin: 'watch', previous: previous.object });
      return;
    }
    if (previous && !isNewer(version, previous.resourceVersion)) {
      this.stats.skipped++;
      return;
    }
    this.known.set(id, { resourceVersion: version, object });
    await this.emit(previous ? { type: 'MODIFIED', object, origin: 'watch', previous: previous.object } : { type: 'ADDED', object, origin: 'watch' });
  }

  private async watchOnce(): Promise<WatchOutcome> {
    const { kubeConfig, path, labelSelector, fieldSelector } = this.options;
    const { Watch } = await loadKubeClient();
    const inbox = new Inbox();
    const timeoutSeconds = this.options.timeoutSeconds ?? Math.round(MIN_WATCH_TIMEOUT_SECONDS * (1 + this.random()));
    let controller: AbortController | undefined;
    const abort = () => controller?.abort();
    this.signal.addEventListener('abort', abort);
    let events = 0;
    try {
      this.stats.watches++;
      const from = this.resourceVersion;
      controller = await new Watch(kubeConfig).watch(
        path,
        { labelSelector, fieldSelector, resourceVersion: this.resourceVersion, allowWatchBookmarks: true, timeoutSeconds },
        (type, object) => inbox.push({ kind: 'event', type, object }),
        (error) => inbox.push({ kind: 'end', error }),
      );
      if (this.signal.aborted) controller.abort();
      // Watch.watch resolves once the answer's headers arrived; an end already queued means it never opened.
      if (!inbox.peekEnd()) this.options.onStatus?.({ type: 'watching', resourceVersion: from });
      for (;;) {
        const item = await inbox.next();
        if (item.kind === 'end') {
          if (!item.error) return { kind: 'closed', events };
          const kind = classifyApiError(item.error).class === 'gone' ? 'expired' : 'failed';
          return { kind, error: item.error, events };
        }
        if (item.type === 'ERROR') {
          const kind = classifyApiError(item.object).class === 'gone' ? 'expired' : 'failed';
          return { kind, error: item.object, events };
        }
        if (item.type === 'BOOKMARK') {
          // Progress without changes: resuming from here survives compaction of what this watch did not care about.
          const version = item.object.metadata?.resourceVersion;
          if (version) {
            this.resourceVersion = version;
            this.options.onStatus?.({ type: 'bookmark', resourceVersion: version });
          }
          continue;
        }
        if (item.type === 'ADDED' || item.type === 'MODIFIED' || item.type === 'DELETED') {
          events++;
          await this.fromStream(item.type, item.object as T);
        }
      }
    } finally {
      this.signal.removeEventListener('abort', abort);
      controller?.abort();
    }
  }
}

/**
 * Lists `path`, then watches from the list's resourceVersion; relists on 410 Gone (HTTP or an
 * ERROR event) and reconnects with capped, jittered exponential backoff on anything else.
 * Remembers the last delivered resourceVersion of every object, so an object's version is never
 * delivered twice and, after a relist, changes and deletions the stream missed are delivered
 * (origin `relist`). An object created and deleted entirely while disconnected cannot be seen
 * by any list+watch client, this one included.
 * @example
 * const ac = new AbortController();
 * const w = watchResource({ kubeConfig, path: '/api/v1/namespaces/spark/pods', labelSelector: 'spark-role=executor',
 *   onEvent: (e) => ledger.record(e), signal: ac.signal });
 * await w.synced;
 */
export function watchResource<T extends KubeObjectLike = KubeObjectLike>(options: WatchResourceOptions<T>): ResourceWatch {
  let markSynced!: () => void;
  let failSynced!: (err: unknown) => void;
  let isSynced = false;
  const synced = new Promise<void>((resolve, reject) => {
    markSynced = () => {
      isSynced = true;
      resolve();
    };
    failSynced = reject;
  });
  synced.catch(() => undefined);
  const reflector = new Reflector<T>(options, () => markSynced());
  const done = reflector.run().then(
    () => {
      if (!isSynced) failSynced(new Error('The watch was stopped before its first list completed.'));
    },
    (err: unknown) => {
      if (!isSynced) failSynced(err);
      throw err;
    },
  );
  return { synced, done, stats: reflector.stats };
}

/** Options of `watchPods`: a namespace (or all namespaces) instead of a path. */
export type WatchPodsOptions<T extends KubeObjectLike> = Omit<WatchResourceOptions<T>, 'path'> & { namespace?: string };

/** `watchResource` on pods of one namespace, or of all namespaces when `namespace` is unset. */
export function watchPods<T extends KubeObjectLike = KubeObjectLike>(options: WatchPodsOptions<T>): ResourceWatch {
  const { namespace, ...rest } = options;
  const path = namespace ? `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods` : '/api/v1/pods';
  return watchResource<T>({ ...rest, path });
}
