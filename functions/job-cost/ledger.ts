import { NotFoundError } from '../../shared/errors.js';
import { isSafeKeySegment } from '../../shared/ids.js';
import { listAll, getBuffer } from '../../shared/store/read.js';
import type { ObjectStore } from '../../shared/store/object-store.js';

/** Root of the ledger in the store (DESIGN.md's layout: `ledger/<namespace>/<appId>/…`). */
export const LEDGER_PREFIX = 'ledger/';
/** Per namespace, pointers from names events use (pod names, SparkApplication names) to app ids. */
export const INDEX_SEGMENT = '_index';

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

/** Facts about a pod learned before its app was known (an event that came before the pod). */
export type PendingFacts = Partial<Pick<LedgerPod, 'start' | 'end' | 'endReason' | 'degradedAt' | 'reclaimedAt' | 'executorId'>>;

interface PodPointer {
  appId?: string;
  pending?: PendingFacts;
}

export const ledgerPodKey = (namespace: string, appId: string, podName: string) => `${LEDGER_PREFIX}${namespace}/${appId}/${podName}.json`;
const podPointerKey = (namespace: string, podName: string) => `${LEDGER_PREFIX}${namespace}/${INDEX_SEGMENT}/pod/${podName}.json`;
const appNameKey = (namespace: string, appName: string) => `${LEDGER_PREFIX}${namespace}/${INDEX_SEGMENT}/app-name/${appName}.json`;

async function readJson<T>(store: ObjectStore, key: string): Promise<T | undefined> {
  try {
    return JSON.parse((await getBuffer(store, key)).toString('utf8')) as T;
  } catch (err) {
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
  for (const k of ['degradedAt', 'reclaimedAt', 'start', 'end'] as const) if (merged[k] === undefined) delete merged[k];
  return merged;
}

/** What a ledger write did. */
export type LedgerWrite = 'written' | 'unchanged' | 'pending' | 'unknown-app';

/**
 * The ledger: one object per Spark pod under `ledger/<namespace>/<appId>/<pod>.json`, plus
 * pointers under `ledger/<namespace>/_index/` from pod and SparkApplication names to app ids.
 * Every write is a read-merge-write of one small object; a retried change rewrites the same
 * content. Two invocations updating one pod at once can lose one update (the store has no
 * conditional writes); `sparkfn serve` hands changes to a function one at a time.
 */
export class Ledger {
  constructor(private readonly store: ObjectStore) {}

  /** Records what a pod change says about a Spark pod. */
  async recordPod(pod: LedgerPod): Promise<LedgerWrite> {
    const key = ledgerPodKey(pod.namespace, pod.appId, pod.podName);
    const old = await readJson<LedgerPod>(this.store, key);
    let incoming: LedgerPod = pod;
    if (!old) {
      const pointer = await readJson<PodPointer>(this.store, podPointerKey(pod.namespace, pod.podName));
      if (pointer?.pending) incoming = mergeLedgerPod(pod, pointer.pending);
      if (pointer?.appId !== pod.appId) await this.store.put(podPointerKey(pod.namespace, pod.podName), JSON.stringify({ appId: pod.appId }), { contentType: 'application/json' });
      if (pod.appName && isSafeKeySegment(pod.appName)) await this.store.put(appNameKey(pod.namespace, pod.appName), JSON.stringify({ appId: pod.appId }), { contentType: 'application/json' });
    }
    const merged = mergeLedgerPod(old, incoming);
    if (old && JSON.stringify(old) === JSON.stringify(merged)) return 'unchanged';
    await this.store.put(key, JSON.stringify(merged), { contentType: 'application/json' });
    return 'written';
  }

  /** Records facts about a pod known only by name (ECI events, spark-operator executor events). */
  async recordPodFacts(namespace: string, podName: string, facts: PendingFacts, appIdHint?: string): Promise<LedgerWrite> {
    const pointer = await readJson<PodPointer>(this.store, podPointerKey(namespace, podName));
    const appId = pointer?.appId ?? appIdHint;
    if (appId) {
      const key = ledgerPodKey(namespace, appId, podName);
      const old = await readJson<LedgerPod>(this.store, key);
      if (old) {
        const merged = mergeLedgerPod(old, facts);
        if (JSON.stringify(old) === JSON.stringify(merged)) return 'unchanged';
        await this.store.put(key, JSON.stringify(merged), { contentType: 'application/json' });
        return 'written';
      }
    }
    // The pod itself has not been seen yet: keep the facts until it is.
    const pending = { ...(pointer?.pending ?? {}) } as PendingFacts;
    const merged = mergeLedgerPod(pending as LedgerPod, facts);
    await this.store.put(podPointerKey(namespace, podName), JSON.stringify({ ...(pointer?.appId ? { appId: pointer.appId } : {}), pending: merged }), { contentType: 'application/json' });
    return 'pending';
  }

  /** The app id a SparkApplication name maps to, learned from its driver or executor pods. */
  async appIdForName(namespace: string, appName: string): Promise<string | undefined> {
    if (!isSafeKeySegment(appName)) return undefined;
    return (await readJson<PodPointer>(this.store, appNameKey(namespace, appName)))?.appId;
  }

  /** The app id a pod belongs to, if the pod was seen. */
  async appIdForPod(namespace: string, podName: string): Promise<string | undefined> {
    if (!isSafeKeySegment(podName)) return undefined;
    return (await readJson<PodPointer>(this.store, podPointerKey(namespace, podName)))?.appId;
  }

  /** Every pod of an app, by pod name. */
  async podsOf(namespace: string, appId: string): Promise<LedgerPod[]> {
    const pods: LedgerPod[] = [];
    for await (const object of listAll(this.store, `${LEDGER_PREFIX}${namespace}/${appId}/`)) {
      const pod = await readJson<LedgerPod>(this.store, object.key);
      if (pod) pods.push(pod);
    }
    return pods.sort((a, b) => a.podName.localeCompare(b.podName));
  }
}
