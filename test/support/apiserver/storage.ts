import { resourceId, type ResourceType } from './resources.js';
import { lowerBound, ResourceIndex, type LabelValues } from './storage-index.js';

/** Any stored object. Only metadata is typed: the rest is kept as JSON. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    generateName?: string;
    creationTimestamp?: string;
    deletionTimestamp?: string;
    generation?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

/** The change a write made. */
export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** One write, as the watch cache keeps it: the object after and before. */
export interface StoredEvent {
  type: EventType;
  resourceVersion: number;
  key: string;
  object: KubeObject;
  prev?: KubeObject;
}

/** Called synchronously, in resourceVersion order, for every write. */
export type StorageListener = (type: ResourceType, event: StoredEvent) => void;

/** Where an object lives: `namespace/name`, or `name` for cluster-scoped ones (etcd key order). */
export function objectKey(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

interface ResourceStore {
  objects: Map<string, KubeObject>;
  index: ResourceIndex;
  /** The watch cache window: the last `historyWindow` events of this resource, oldest first. */
  history: StoredEvent[];
  /** The resourceVersion the window starts after when nothing was evicted since the last compaction. */
  compactedAt: number;
  evictedSinceCompaction: boolean;
}

/** Which objects a list or deletecollection wants, and how many of them. */
export interface ObjectQuery {
  namespace?: string;
  /** Read as of this resourceVersion (an Exact list, a continue token) instead of now. */
  at?: number;
  /** Only keys at or after this one (a continue token's start, namespace-relative like it). */
  from?: string;
  /** Requirements an index can serve (`=`, `==`, `in`): only objects carrying one of the values are looked at. */
  labels?: LabelValues[];
  /** Asked of each candidate before anything is copied: the whole selector. */
  keep?: (object: KubeObject) => boolean;
  /** Copy out at most this many; the scan stops at the one after unless `countAll`. */
  limit?: number;
  /** Count every match past `limit` too (for remainingItemCount). */
  countAll?: boolean;
}

/** The first `limit` matches in key order, and how many matched (at least one more than returned when there are more). */
export interface QueryResult {
  items: KubeObject[];
  matched: number;
}

/** Where the revision counter starts and how many events each resource keeps. */
export interface StorageOptions {
  initialResourceVersion: number;
  historyWindow: number;
}

/**
 * In-memory etcd + watch cache. One global resourceVersion counter (etcd's revision) stamps
 * every write; each resource keeps a bounded window of events, from which watches resume and
 * past list snapshots (Exact lists, continue tokens) are rebuilt by rolling writes back.
 * Listeners are notified in resourceVersion order, also for writes made by a listener.
 */
export class Storage {
  private rv: number;
  private readonly stores = new Map<string, ResourceStore>();
  private readonly listeners: StorageListener[] = [];
  private readonly pending: [ResourceType, StoredEvent][] = [];
  private dispatching = false;

  constructor(private readonly options: StorageOptions) {
    this.rv = options.initialResourceVersion;
  }

  currentResourceVersion(): number {
    return this.rv;
  }

  subscribe(listener: StorageListener): void {
    this.listeners.push(listener);
  }

  get(type: ResourceType, namespace: string | undefined, name: string): KubeObject | undefined {
    const found = this.store(type).objects.get(objectKey(namespace, name));
    return found ? structuredClone(found) : undefined;
  }

  /** Current objects in key order, optionally one namespace only, optionally only those `keep` accepts. */
  list(type: ResourceType, namespace?: string, keep?: (object: KubeObject) => boolean): KubeObject[] {
    return this.select(type, { namespace, keep })!.items;
  }

  /**
   * Objects in key order, as they are or as they were at `query.at`; undefined when that revision
   * was compacted away (or is in the future). Costs what the candidates cost: an index picks them
   * by namespace and by label value, and only what is returned is copied.
   */
  select(type: ResourceType, query: ObjectQuery): QueryResult | undefined {
    const store = this.store(type);
    const at = query.at;
    if (at !== undefined && (at < this.floor(type) || at > this.rv)) return undefined;
    // Rolling writes back: each key written since `at` maps to what it held then (undefined: absent).
    const past = new Map<string, KubeObject | undefined>();
    if (at !== undefined) {
      for (let i = store.history.length - 1; i >= 0; i--) {
        const event = store.history[i]!;
        if (event.resourceVersion <= at) break;
        if (event.type === 'ADDED') past.set(event.key, undefined);
        else if (event.prev) past.set(event.key, event.prev);
      }
    }
    const objectAt = (key: string) => (past.has(key) ? past.get(key) : store.objects.get(key));
    const prefix = query.namespace ? `${query.namespace}/` : undefined;
    const from = query.from === undefined ? undefined : `${prefix ?? ''}${query.from}`;
    const inRange = (key: string) => (!prefix || key.startsWith(prefix)) && (from === undefined || key >= from);
    const labelled = query.labels && query.labels.length > 0 ? store.index.labelled(query.labels) : undefined;
    let keys: string[];
    let first = 0;
    if (labelled) {
      keys = [...new Set([...labelled, ...past.keys()])].filter(inRange).sort();
    } else {
      keys = store.index.sortedKeys(prefix);
      if (past.size > 0) keys = [...new Set([...keys, ...past.keys()])].sort();
      if (from !== undefined) first = lowerBound(keys, from);
    }
    const { keep, limit, countAll } = query;
    const items: KubeObject[] = [];
    let matched = 0;
    for (let i = first; i < keys.length; i++) {
      const key = keys[i]!;
      if (!inRange(key)) continue;
      const object = objectAt(key);
      if (!object || (keep && !keep(object))) continue;
      matched++;
      if (limit === undefined || matched <= limit) items.push(structuredClone(object));
      else if (!countAll) break;
    }
    return { items, matched };
  }

  create(type: ResourceType, object: KubeObject): KubeObject {
    const key = objectKey(object.metadata.namespace, object.metadata.name);
    const store = this.store(type);
    if (store.objects.has(key)) throw new Error(`storage: ${key} exists`);
    return this.write(type, store, 'ADDED', key, object, undefined);
  }

  update(type: ResourceType, object: KubeObject): KubeObject {
    const key = objectKey(object.metadata.namespace, object.metadata.name);
    const store = this.store(type);
    const prev = store.objects.get(key);
    if (!prev) throw new Error(`storage: ${key} missing`);
    return this.write(type, store, 'MODIFIED', key, object, prev);
  }

  delete(type: ResourceType, namespace: string | undefined, name: string): KubeObject | undefined {
    const key = objectKey(namespace, name);
    const store = this.store(type);
    const prev = store.objects.get(key);
    if (!prev) return undefined;
    return this.write(type, store, 'DELETED', key, prev, prev);
  }

  /**
   * The oldest resourceVersion a watch may resume from (the watch cache's `oldest-1`): every
   * event after it is still in the window.
   */
  floor(type: ResourceType): number {
    const store = this.store(type);
    const first = store.history[0];
    return store.evictedSinceCompaction && first ? first.resourceVersion - 1 : store.compactedAt;
  }

  /** Events after `resourceVersion`, oldest first; undefined when the window no longer reaches back that far. */
  eventsSince(type: ResourceType, resourceVersion: number): StoredEvent[] | undefined {
    if (resourceVersion < this.floor(type)) return undefined;
    return this.store(type)
      .history.filter((e) => e.resourceVersion > resourceVersion)
      .map((e) => structuredClone(e));
  }

  /** etcd compaction plus a fresh watch cache: no watch or exact read may reach back before now. */
  compact(): void {
    for (const store of this.stores.values()) {
      store.history = [];
      store.compactedAt = this.rv;
      store.evictedSinceCompaction = false;
    }
  }

  private store(type: ResourceType): ResourceStore {
    const id = resourceId(type);
    let store = this.stores.get(id);
    if (!store) {
      store = { objects: new Map(), index: new ResourceIndex(), history: [], compactedAt: this.options.initialResourceVersion, evictedSinceCompaction: false };
      this.stores.set(id, store);
    }
    return store;
  }

  private write(
    type: ResourceType,
    store: ResourceStore,
    eventType: EventType,
    key: string,
    object: KubeObject,
    prev: KubeObject | undefined,
  ): KubeObject {
    this.rv += 1;
    const stored = structuredClone(object);
    stored.metadata.resourceVersion = String(this.rv);
    const ordered = orderFields(stored);
    if (eventType === 'DELETED') store.objects.delete(key);
    else store.objects.set(key, ordered);
    store.index.update(key, eventType === 'DELETED' ? undefined : ordered, prev);
    const event: StoredEvent = { type: eventType, resourceVersion: this.rv, key, object: ordered, prev };
    store.history.push(event);
    while (store.history.length > this.options.historyWindow) {
      store.history.shift();
      store.evictedSinceCompaction = true;
    }
    this.pending.push([type, event]);
    this.dispatch();
    return structuredClone(ordered);
  }

  private dispatch(): void {
    if (this.dispatching) return;
    this.dispatching = true;
    try {
      for (let next = this.pending.shift(); next; next = this.pending.shift()) {
        for (const listener of this.listeners) listener(next[0], structuredClone(next[1]));
      }
    } finally {
      this.dispatching = false;
    }
  }
}

/** ObjectMeta's field order in Go, which is the order kube-apiserver writes. */
const METADATA_ORDER = [
  'name', 'generateName', 'namespace', 'selfLink', 'uid', 'resourceVersion', 'generation', 'creationTimestamp',
  'deletionTimestamp', 'deletionGracePeriodSeconds', 'labels', 'annotations', 'ownerReferences', 'finalizers', 'managedFields',
];

/** The object with metadata fields in Go order (unknown ones after), and spec before status. */
export function orderFields(object: KubeObject): KubeObject {
  const meta: Record<string, unknown> = {};
  for (const key of METADATA_ORDER) if (object.metadata[key] !== undefined) meta[key] = object.metadata[key];
  for (const [key, value] of Object.entries(object.metadata)) if (!(key in meta) && value !== undefined) meta[key] = value;
  const { kind, apiVersion, metadata: _m, status, ...rest } = object;
  const out: Record<string, unknown> = {};
  if (kind !== undefined) out.kind = kind;
  if (apiVersion !== undefined) out.apiVersion = apiVersion;
  out.metadata = meta;
  Object.assign(out, rest);
  if (status !== undefined) out.status = status;
  return out as KubeObject;
}
