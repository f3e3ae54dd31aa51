import { createHash } from 'node:crypto';
import { NotFoundError } from '../../shared/errors.js';
import { isSafeKeySegment } from '../../shared/ids.js';
import { mapConcurrently } from '../../shared/store/map-concurrently.js';
import type { ObjectStore } from '../../shared/store/object-store.js';
import { getBuffer, listAll } from '../../shared/store/read.js';

/** Root of the ledger in the store (DESIGN.md's layout: `ledger/<namespace>/<appId>/…`). */
export const LEDGER_PREFIX = 'ledger/';
/** Per namespace, pointers from SparkApplication names to app ids. */
export const INDEX_SEGMENT = '_index';
/** Per namespace, facts from events about a pod known only by its name. */
export const POD_EVENTS_SEGMENT = '_pods';
/** Store reads at once when an app's facts are gathered. */
const READ_CONCURRENCY = 16;
/** Hex digits of a fact's content hash in its key: 64 bits, so distinct facts of one pod never share a key. */
const FACT_HASH_HEX = 16;
/** Digits of a creation time (ms) in an index key, so that keys sort by time. */
const TIME_DIGITS = 15;

/** One Spark pod's billing facts, as the function saw them in pod changes and events. */
export interface LedgerPod {
  namespace: string;
  podName: string;
  appId: string;
  role: 'driver' | 'executor';
  /** `spark-exec-id` label (executors). */
  executorId?: string;
  /** The SparkApplication's name (`sparkoperator.k8s.io/app-name`), or `spark-app-name`. */
  appName?: string;
  labels: Record<string, string>;
  /** ms since the epoch: metadata.creationTimestamp. */
  created?: number;
  /** ms since the epoch: status.startTime, else creation. */
  start?: number;
  /** ms since the epoch: containers terminated, or the pod deleted (whichever came first). */
  end?: number;
  endReason?: 'terminated' | 'deleted' | 'executor-event';
  phase?: string;
  /** Summed container requests. */
  requests?: { vcpu?: number; gib?: number };
  instanceSpec?: string;
  spotStrategy?: string;
  spotPriceLimitPerHour?: number;
  /** SpotDegraded seen (ms). */
  degradedAt?: number;
  /** SpotToBeReleased / BidFailed seen (ms). */
  reclaimedAt?: number;
}

/** Facts about a pod that an event gives, knowing the pod only by name. */
export type PendingFacts = Partial<Pick<LedgerPod, 'start' | 'end' | 'endReason' | 'degradedAt' | 'reclaimedAt' | 'executorId'>>;

/** The layout before facts had their own objects: a pointer that held facts about a pod not seen yet. */
interface LegacyPodPointer {
  appId?: string;
  pending?: PendingFacts;
}

const nsPrefix = (namespace: string) => `${LEDGER_PREFIX}${namespace}/`;
/** Folder of one pod's pod-change facts. */
const podFolder = (namespace: string, appId: string, podName: string) => `${nsPrefix(namespace)}${appId}/${podName}/`;
/** Folder of the event facts about a pod name. */
const podEventsFolder = (namespace: string, podName: string) => `${nsPrefix(namespace)}${POD_EVENTS_SEGMENT}/${podName}/`;
/** Folder of the app ids a SparkApplication name has had, one object each. */
const appNameFolder = (namespace: string, appName: string) => `${nsPrefix(namespace)}${INDEX_SEGMENT}/app-name/${appName}/`;
// Read for one release: the layout where each pod was one object, rewritten on every change.
const legacyPodKey = (namespace: string, appId: string, podName: string) => `${nsPrefix(namespace)}${appId}/${podName}.json`;
const legacyPodPointerKey = (namespace: string, podName: string) => `${nsPrefix(namespace)}${INDEX_SEGMENT}/pod/${podName}.json`;
const legacyAppNameKey = (namespace: string, appName: string) => `${nsPrefix(namespace)}${INDEX_SEGMENT}/app-name/${appName}.json`;

/** JSON with object keys sorted, so that equal facts hash equally whatever order their fields came in. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

const factHash = (body: string) => createHash('sha256').update(body).digest('hex').slice(0, FACT_HASH_HEX);

/** The key of a pod-change fact: the pod, and a hash of what the change says about it. */
export function podFactKey(pod: LedgerPod): { key: string; body: string } {
  const body = canonical(pod);
  return { key: `${podFolder(pod.namespace, pod.appId, pod.podName)}pod-${factHash(body)}.json`, body };
}

/** The key of an event fact: the pod's name, and a hash of what the event says about it. */
export function eventFactKey(namespace: string, podName: string, facts: PendingFacts): { key: string; body: string } {
  const body = canonical(facts);
  return { key: `${podEventsFolder(namespace, podName)}event-${factHash(body)}.json`, body };
}

function appNameIndexKey(pod: LedgerPod & { appName: string }): string {
  const created = String(Math.max(0, Math.trunc(pod.created ?? 0))).padStart(TIME_DIGITS, '0');
  return `${appNameFolder(pod.namespace, pod.appName)}${created}-${pod.appId}.json`;
}

async function readJson<T>(store: ObjectStore, key: string): Promise<T | undefined> {
  try {
    return JSON.parse((await getBuffer(store, key)).toString('utf8')) as T;
  } catch (err) {
    // A fact deleted between list and get (a janitor) or cut short is left out, as if not yet seen.
    if (err instanceof NotFoundError) return undefined;
    if (err instanceof SyntaxError) return undefined;
    throw err;
  }
}

const minDefined = (a: number | undefined, b: number | undefined) => (a === undefined ? b : b === undefined ? a : Math.min(a, b));

/** Later facts merged into earlier ones: first start and end win (earliest), the rest is replaced when present. */
export function mergeLedgerPod(old: LedgerPod | undefined, next: LedgerPod | PendingFacts & Partial<LedgerPod>): LedgerPod {
  const merged = { ...(old ?? {}), ...Object.fromEntries(Object.entries(next).filter(([, v]) => v !== undefined)) } as LedgerPod;
  merged.start = minDefined(old?.start, next.start);
  const end = minDefined(old?.end, next.end);
  if (end !== undefined) {
    merged.end = end;
    merged.endReason = old?.end !== undefined && old.end <= (next.end ?? Infinity) ? old.endReason : (next.endReason ?? old?.endReason);
  }
  merged.degradedAt = minDefined(old?.degradedAt, next.degradedAt);
  merged.reclaimedAt = minDefined(old?.reclaimedAt, next.reclaimedAt);
  merged.created = minDefined(old?.created, next.created);
  for (const k of ['degradedAt', 'reclaimedAt', 'start', 'end', 'created'] as const) if (merged[k] === undefined) delete merged[k];
  return merged;
}

/** How far along a pod change is: later changes' replaceable fields (phase, labels) win over earlier ones. */
function progress(pod: LedgerPod): number {
  if (pod.endReason === 'deleted') return 3;
  if (pod.phase === 'Succeeded' || pod.phase === 'Failed') return 2;
  if (pod.phase === 'Running') return 1;
  return 0;
}

const compareText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * One pod's state from all its facts, whatever order they were written in: facts from events
 * first (by key), then the pod changes in order of progress (then key), each merged with
 * mergeLedgerPod. Times take the earliest, so only the replaceable fields depend on the order,
 * and the order depends only on the set of facts.
 */
export function foldPod(podChanges: readonly { key: string; pod: LedgerPod }[], events: readonly { key: string; facts: PendingFacts }[]): LedgerPod | undefined {
  if (podChanges.length === 0) return undefined;
  const changes = [...podChanges].sort((a, b) => progress(a.pod) - progress(b.pod) || compareText(a.key, b.key));
  let pod: LedgerPod | undefined;
  for (const e of [...events].sort((a, b) => compareText(a.key, b.key))) pod = mergeLedgerPod(pod, e.facts);
  for (const c of changes) pod = mergeLedgerPod(pod, c.pod);
  return pod;
}

/** What a ledger write did. */
export type LedgerWrite = 'written' | 'unchanged' | 'pending' | 'unknown-app';

/**
 * The ledger. Every fact is its own object at a key derived from the fact, written once and
 * never read back to be changed, so two invocations never write the same object with
 * different bytes and a redelivery rewrites what it wrote:
 *
 * - `ledger/<ns>/<appId>/<pod>/pod-<hash>.json`: what one pod change says (LedgerPod);
 * - `ledger/<ns>/_pods/<pod>/event-<hash>.json`: what an event says about a pod by name;
 * - `ledger/<ns>/_index/app-name/<appName>/<created>-<appId>.json`: a SparkApplication name's app ids.
 *
 * A pod's state is folded from its facts when the app is costed (foldPod). The layout before
 * this one (`<appId>/<pod>.json`, `_index/pod/`, `_index/app-name/<name>.json`) is read too,
 * for one release, and never written.
 */
export class Ledger {
  constructor(private readonly store: ObjectStore) {}

  /** Records what a pod change says about a Spark pod: the fact, and the app's name (2 puts at most). */
  async recordPod(pod: LedgerPod): Promise<LedgerWrite> {
    const { key, body } = podFactKey(pod);
    const writes = [this.store.put(key, body, { contentType: 'application/json' })];
    if (pod.appName && isSafeKeySegment(pod.appName)) {
      writes.push(this.store.put(appNameIndexKey(pod as LedgerPod & { appName: string }), JSON.stringify({ appId: pod.appId }), { contentType: 'application/json' }));
    }
    await Promise.all(writes);
    return 'written';
  }

  /** Records facts about a pod known only by name (ECI events, spark-operator executor events): one put. */
  async recordPodFacts(namespace: string, podName: string, facts: PendingFacts): Promise<LedgerWrite> {
    const { key, body } = eventFactKey(namespace, podName, facts);
    await this.store.put(key, body, { contentType: 'application/json' });
    return 'written';
  }

  /** The app id a SparkApplication name maps to: that of its newest pod. */
  async appIdForName(namespace: string, appName: string): Promise<string | undefined> {
    if (!isSafeKeySegment(appName)) return undefined;
    const folder = appNameFolder(namespace, appName);
    let newest: string | undefined;
    for await (const object of listAll(this.store, folder)) {
      const name = object.key.slice(folder.length);
      if (!name.endsWith('.json') || name.includes('/')) continue;
      // Keys sort by creation time, so the last listed is the newest run of that name.
      newest = name.slice(TIME_DIGITS + 1, -'.json'.length);
    }
    return newest ?? (await readJson<LegacyPodPointer>(this.store, legacyAppNameKey(namespace, appName)))?.appId;
  }

  /** Every pod of an app, each folded from its facts (both layouts), by pod name. */
  async podsOf(namespace: string, appId: string): Promise<LedgerPod[]> {
    const folder = `${nsPrefix(namespace)}${appId}/`;
    const changeKeys = new Map<string, string[]>();
    const legacy: string[] = [];
    for await (const object of listAll(this.store, folder)) {
      const rest = object.key.slice(folder.length);
      const slash = rest.indexOf('/');
      if (slash === -1) {
        if (rest.endsWith('.json')) legacy.push(rest.slice(0, -'.json'.length));
        continue;
      }
      const podName = rest.slice(0, slash);
      changeKeys.set(podName, [...(changeKeys.get(podName) ?? []), object.key]);
    }
    const podNames = [...new Set([...changeKeys.keys(), ...legacy])].sort(compareText);
    const pods = await mapConcurrently(podNames, READ_CONCURRENCY, async (podName) => {
      const keys = changeKeys.get(podName) ?? [];
      const [changes, events, legacyPod, legacyPointer] = await Promise.all([
        mapConcurrently(keys, READ_CONCURRENCY, async (key) => ({ key, pod: await readJson<LedgerPod>(this.store, key) })),
        this.eventFacts(namespace, podName),
        legacy.includes(podName) ? readJson<LedgerPod>(this.store, legacyPodKey(namespace, appId, podName)) : undefined,
        readJson<LegacyPodPointer>(this.store, legacyPodPointerKey(namespace, podName)),
      ]);
      const podChanges = changes.filter((c): c is { key: string; pod: LedgerPod } => c.pod !== undefined);
      // A legacy pod object sorts before every new fact: it was written before the upgrade.
      if (legacyPod) podChanges.push({ key: '', pod: legacyPod });
      const pending = legacyPointer?.pending && (legacyPointer.appId === undefined || legacyPointer.appId === appId) ? [{ key: '', facts: legacyPointer.pending }] : [];
      return foldPod(podChanges, [...pending, ...events]);
    });
    return pods.filter((p): p is LedgerPod => p !== undefined);
  }

  private async eventFacts(namespace: string, podName: string): Promise<{ key: string; facts: PendingFacts }[]> {
    const keys: string[] = [];
    for await (const object of listAll(this.store, podEventsFolder(namespace, podName))) keys.push(object.key);
    const read = await mapConcurrently(keys, READ_CONCURRENCY, async (key) => ({ key, facts: await readJson<PendingFacts>(this.store, key) }));
    return read.filter((e): e is { key: string; facts: PendingFacts } => e.facts !== undefined);
  }
}
