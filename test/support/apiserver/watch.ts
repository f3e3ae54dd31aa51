import type { ServerResponse } from 'node:http';
import type { DropMode } from './faults.js';
import { apiVersionOf, withTypeMeta, type ResourceType } from './resources.js';
import { matches, type Selector } from './selectors.js';
import { expired } from './status.js';
import type { KubeObject, Storage, StoredEvent } from './storage.js';

/** The `type` of a watch event line. */
export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

/** A validated watch request. `resourceVersion` undefined means "current state, then changes". */
export interface WatchRequest {
  type: ResourceType;
  namespace?: string;
  selector: Selector;
  resourceVersion?: number;
  allowBookmarks: boolean;
  sendInitialEvents: boolean;
  timeoutSeconds?: number;
}

interface Watcher {
  request: WatchRequest;
  res: ServerResponse;
  timers: NodeJS.Timeout[];
}

/** Annotation on the bookmark that ends a streaming list's initial events (KEP-3157). */
const INITIAL_EVENTS_END = 'k8s.io/initial-events-end';

/**
 * Open watch streams: chunked JSON lines `{"type":…,"object":…}`, resumed from the watch cache
 * window, filtered by namespace and selectors with the cacher's ADDED/DELETED translation when
 * an object starts or stops matching.
 */
export class WatchHub {
  private readonly watchers = new Set<Watcher>();

  constructor(
    private readonly storage: Storage,
    private readonly options: {
      bookmarkIntervalMs: number;
      /** Called after each written event; returns a drop mode when every stream should be dropped now. */
      onEventWritten: () => DropMode | undefined;
    },
  ) {
    storage.subscribe((type, event) => this.onStorageEvent(type, event));
  }

  get openCount(): number {
    return this.watchers.size;
  }

  /** Starts streaming. A resourceVersion older than the window gets HTTP 200 and one 410 ERROR event, as from kube-apiserver. */
  open(request: WatchRequest, res: ServerResponse, headers: Record<string, string>): void {
    res.writeHead(200, { ...headers, 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
    res.flushHeaders();
    const { type } = request;
    if (request.resourceVersion !== undefined && request.resourceVersion !== 0) {
      const floor = this.storage.floor(type);
      const events = this.storage.eventsSince(type, request.resourceVersion);
      if (!events) {
        const status = expired(`too old resource version: ${request.resourceVersion} (${floor})`).status;
        res.end(`${JSON.stringify({ type: 'ERROR', object: status })}\n`);
        return;
      }
      const watcher = this.register(request, res);
      for (const event of events) this.deliver(watcher, event);
      return;
    }
    const watcher = this.register(request, res);
    for (const object of this.storage.list(type, request.namespace)) {
      if (this.passes(watcher, object)) this.write(watcher, 'ADDED', object);
    }
    if (request.sendInitialEvents && request.allowBookmarks) this.bookmark(watcher, true);
  }

  /** Sends a BOOKMARK with the current resourceVersion on every stream that allows them. */
  sendBookmarks(): void {
    for (const watcher of [...this.watchers]) if (watcher.request.allowBookmarks) this.bookmark(watcher, false);
  }

  /** Drops every open stream; returns how many there were. */
  dropAll(mode: DropMode): number {
    const all = [...this.watchers];
    for (const watcher of all) this.close(watcher, mode);
    return all.length;
  }

  private register(request: WatchRequest, res: ServerResponse): Watcher {
    const watcher: Watcher = { request, res, timers: [] };
    this.watchers.add(watcher);
    res.on('close', () => this.forget(watcher));
    if (request.timeoutSeconds !== undefined) {
      watcher.timers.push(setTimeout(() => this.close(watcher, 'end'), request.timeoutSeconds * 1000));
    }
    if (request.allowBookmarks && this.options.bookmarkIntervalMs > 0) {
      watcher.timers.push(setInterval(() => this.bookmark(watcher, false), this.options.bookmarkIntervalMs));
    }
    return watcher;
  }

  private forget(watcher: Watcher): void {
    for (const t of watcher.timers) clearTimeout(t);
    this.watchers.delete(watcher);
  }

  private close(watcher: Watcher, mode: DropMode): void {
    this.forget(watcher);
    if (mode === 'end') {
      watcher.res.end();
    } else if (watcher.res.socket) {
      // Cut the connection without the final chunk, but after what was already written: "after N events" means N arrive.
      watcher.res.socket.destroySoon();
    } else {
      watcher.res.destroy();
    }
  }

  private passes(watcher: Watcher, object: KubeObject | undefined): boolean {
    if (!object) return false;
    const { namespace, selector, type } = watcher.request;
    return (!namespace || object.metadata.namespace === namespace) && matches(selector, object, type);
  }

  private onStorageEvent(type: ResourceType, event: StoredEvent): void {
    for (const watcher of [...this.watchers]) {
      if (watcher.request.type === type) this.deliver(watcher, event);
    }
  }

  private deliver(watcher: Watcher, event: StoredEvent): void {
    const now = event.type !== 'DELETED' && this.passes(watcher, event.object);
    const before = this.passes(watcher, event.prev);
    if (event.type === 'DELETED') {
      if (before) this.write(watcher, 'DELETED', event.object);
    } else if (now && before) {
      this.write(watcher, 'MODIFIED', event.object);
    } else if (now) {
      this.write(watcher, 'ADDED', event.object);
    } else if (before && event.prev) {
      // The cacher reports an object leaving the selector as DELETED: its previous content, the event's resourceVersion.
      const gone = structuredClone(event.prev);
      gone.metadata.resourceVersion = String(event.resourceVersion);
      this.write(watcher, 'DELETED', gone);
    }
  }

  private bookmark(watcher: Watcher, initialEventsEnd: boolean): void {
    const { type } = watcher.request;
    const metadata: Record<string, unknown> = { resourceVersion: String(this.storage.currentResourceVersion()) };
    if (!type.custom) metadata.creationTimestamp = null;
    if (initialEventsEnd) metadata.annotations = { [INITIAL_EVENTS_END]: 'true' };
    this.write(watcher, 'BOOKMARK', { kind: type.kind, apiVersion: apiVersionOf(type), metadata } as unknown as KubeObject);
  }

  private write(watcher: Watcher, eventType: WatchEventType, object: KubeObject): void {
    if (!this.watchers.has(watcher) || watcher.res.destroyed || watcher.res.writableEnded) return;
    const { type } = watcher.request;
    const full = eventType === 'BOOKMARK' ? object : withTypeMeta(type, object);
    watcher.res.write(`${JSON.stringify({ type: eventType, object: full })}\n`);
    if (eventType === 'BOOKMARK') return;
    const drop = this.options.onEventWritten();
    if (drop) this.dropAll(drop);
  }
}
