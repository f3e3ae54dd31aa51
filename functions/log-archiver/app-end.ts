import type { CoreV1Event } from '@kubernetes/client-node';
import { isSafeKeySegment } from '../../shared/ids.js';
import {
  APP_END_REASONS as OPERATOR_APP_END_REASONS,
  DRIVER_END_REASONS as OPERATOR_DRIVER_END_REASONS,
  DRIVER_POD_SUFFIX,
  readOperatorEvent,
} from '../../shared/spark/operator-events.js';
import { mapConcurrently } from '../../shared/store/map-concurrently.js';
import type { ObjectStore } from '../../shared/store/object-store.js';
import { compactedKey } from './chunk-key.js';
import type { StreamObjects } from './compact.js';
import { DRIVER_EXECUTOR_ID } from './identity.js';
import { META } from './object-metadata.js';

/** Reasons the Spark operator gives its SparkApplication when the app is over. */
export const APP_END_REASONS = [...OPERATOR_APP_END_REASONS];
/** Reasons the Spark operator gives its SparkApplication when the driver pod ended (message: `Driver <pod> completed`). */
export const DRIVER_END_REASONS = [...OPERATOR_DRIVER_END_REASONS];
/** Reasons on a Pod event that mean the pod is terminal (kubelet, eviction, the pod watch). */
export const POD_TERMINAL_REASONS = ['Completed', 'Succeeded', 'Failed', 'Evicted', 'DeadlineExceeded', 'Preempted'] as const;
export { DRIVER_POD_SUFFIX } from '../../shared/spark/operator-events.js';
/** Apps whose chunks are HEADed at once when matching events to apps. */
const HEAD_CONCURRENCY = 16;

/** A Spark app that ended, as an event names it. */
export interface AppEnd {
  reason: string;
  namespace?: string;
  /** The SparkApplication's name (Spark operator events). */
  appName?: string;
  /** The driver pod's name. */
  driverPod?: string;
}

/**
 * The app an event says has ended, or undefined for any other event: the Spark operator's
 * SparkApplicationCompleted / SparkApplicationFailed (and SparkDriverCompleted / Failed), read by
 * shared/spark/operator-events.ts in every operator release's format, or a terminal event about
 * a driver pod (a Pod named `…-driver`).
 * @example appEndOf(event) // { reason: 'SparkApplicationCompleted', namespace: 'spark-jobs', appName: 'etl-orders-daily', driverPod: 'etl-orders-daily-driver' }
 */
export function appEndOf(event: CoreV1Event): AppEnd | undefined {
  const operator = readOperatorEvent(event);
  if (operator?.kind === 'app-end' || operator?.kind === 'driver-end') {
    return { reason: operator.reason, namespace: operator.namespace, appName: operator.sparkApplication, driverPod: operator.driverPod };
  }
  const reason = event.reason ?? '';
  const object = event.involvedObject ?? {};
  const namespace = object.namespace ?? event.metadata?.namespace;
  if (object.kind === 'Pod' && object.name?.endsWith(DRIVER_POD_SUFFIX) && (POD_TERMINAL_REASONS as readonly string[]).includes(reason)) {
    return { ...(namespace ? { reason, namespace } : { reason }), driverPod: object.name };
  }
  return undefined;
}

/**
 * The app ids (as in our keys) of the ended apps that still have chunks. Events name the
 * SparkApplication or the driver pod, not Spark's application id: an app whose key id is the
 * SparkApplication name itself matches directly; every other app with chunks is matched by the
 * metadata its chunks carry: namespace, and the SparkApplication's name (the operator's
 * `sparkoperator.k8s.io/app-name` label, else `spark-app-name`, as shared/spark/app-identity.ts
 * orders them) or the driver's pod name.
 */
export async function appsForEnds(store: ObjectStore, ends: readonly AppEnd[], streams: readonly StreamObjects[]): Promise<string[]> {
  const byApp = new Map<string, StreamObjects[]>();
  for (const s of streams) byApp.set(s.appId, [...(byApp.get(s.appId) ?? []), s]);
  const pending = [...byApp.keys()].filter((app) => byApp.get(app)!.some((s) => s.chunks.length > 0));
  const matched = new Set<string>();
  for (const end of ends) if (end.appName && isSafeKeySegment(end.appName) && pending.includes(end.appName)) matched.add(end.appName);
  const candidates = pending.filter((app) => !matched.has(app));
  const metadata = await mapConcurrently(candidates, HEAD_CONCURRENCY, async (app) => {
    const appStreams = byApp.get(app) as StreamObjects[];
    // A driver object names the driver pod; any chunk names the app.
    const driver = appStreams.find((s) => s.executorId === DRIVER_EXECUTOR_ID);
    const key = driver
      ? (driver.chunks[0]?.key ?? compactedKey(app, DRIVER_EXECUTOR_ID, driver.stream))
      : (appStreams.find((s) => s.chunks.length > 0)!.chunks[0]!.key as string);
    return (await store.head(key))?.metadata ?? {};
  });
  candidates.forEach((app, i) => {
    const meta = metadata[i] as Record<string, string>;
    for (const end of ends) {
      if (end.namespace && meta[META.namespace] && end.namespace !== meta[META.namespace]) continue;
      const sameApp = end.appName !== undefined && meta[META.appName] === end.appName;
      const sameDriver = end.driverPod !== undefined && meta[META.podName] === end.driverPod;
      if (sameApp || sameDriver) matched.add(app);
    }
  });
  return [...matched];
}
