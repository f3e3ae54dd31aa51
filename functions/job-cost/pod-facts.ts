import type { K8sObjectChange } from '../../shared/platform/trigger.js';
import { sparkApplicationNameOf } from '../../shared/spark/app-identity.js';
import type { LedgerPod } from './ledger.js';
import { cpuQuantity, memoryQuantityGiB } from './spark-resources.js';

/** Labels Spark puts on its pods (Constants.scala) and the Spark operator adds. */
export const SPARK_LABELS = {
  appId: 'spark-app-selector',
  role: 'spark-role',
  executorId: 'spark-exec-id',
  appName: 'spark-app-name',
  operatorAppName: 'sparkoperator.k8s.io/app-name',
} as const;

/** ECI annotations that decide billing (https://www.alibabacloud.com/help/en/eci/user-guide/pod-annotations). */
export const ECI_ANNOTATIONS = {
  instanceSpec: 'k8s.aliyun.com/eci-instance-spec',
  spotStrategy: 'k8s.aliyun.com/eci-spot-strategy',
  spotPriceLimit: 'k8s.aliyun.com/eci-spot-price-limit',
} as const;

/** Spot strategies ECI bills as spot; `NoSpot` (or none) is on-demand. */
export const SPOT_STRATEGIES: ReadonlySet<string> = new Set(['SpotAsPriceGo', 'SpotWithPriceLimit']);

const time = (value: unknown): number | undefined => {
  if (typeof value !== 'string') return undefined;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? ms : undefined;
};

interface PodShape {
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string>; creationTimestamp?: string; deletionTimestamp?: string };
  spec?: { containers?: { resources?: { requests?: Record<string, string> } }[] };
  status?: { phase?: string; reason?: string; startTime?: string; containerStatuses?: { state?: { terminated?: { finishedAt?: string } } }[] };
}

/**
 * The ledger facts one pod change carries, or undefined for a pod that is not a Spark driver or
 * executor. `now` dates a deletion or termination the object does not date itself.
 */
export function ledgerPodFromChange(change: K8sObjectChange, now: number): LedgerPod | undefined {
  if (change.object.kind !== 'Pod') return undefined;
  const pod = change.object as unknown as PodShape;
  const labels = pod.metadata.labels ?? {};
  const annotations = pod.metadata.annotations ?? {};
  const appId = labels[SPARK_LABELS.appId];
  const role = labels[SPARK_LABELS.role];
  const namespace = pod.metadata.namespace;
  if (!appId || !namespace || (role !== 'driver' && role !== 'executor')) return undefined;

  let vcpu: number | undefined;
  let gib: number | undefined;
  for (const container of pod.spec?.containers ?? []) {
    const requests = container.resources?.requests ?? {};
    const c = cpuQuantity(requests.cpu);
    const m = memoryQuantityGiB(requests.memory);
    if (c !== undefined) vcpu = (vcpu ?? 0) + c;
    if (m !== undefined) gib = (gib ?? 0) + m;
  }
  const phase = pod.status?.phase;
  let end: number | undefined;
  let endReason: LedgerPod['endReason'];
  if (phase === 'Succeeded' || phase === 'Failed') {
    const finished = (pod.status?.containerStatuses ?? []).map((s) => time(s.state?.terminated?.finishedAt)).filter((t): t is number => t !== undefined);
    end = finished.length > 0 ? Math.max(...finished) : now;
    endReason = 'terminated';
  } else if (change.type === 'DELETED') {
    end = time(pod.metadata.deletionTimestamp) ?? now;
    endReason = 'deleted';
  }
  const limit = Number(annotations[ECI_ANNOTATIONS.spotPriceLimit]);
  const appName = sparkApplicationNameOf(labels);
  const created = time(pod.metadata.creationTimestamp);
  const start = time(pod.status?.startTime) ?? created;
  const entry: LedgerPod = {
    namespace,
    podName: pod.metadata.name,
    appId,
    role,
    labels,
    ...(labels[SPARK_LABELS.executorId] ? { executorId: labels[SPARK_LABELS.executorId] } : {}),
    ...(appName ? { appName } : {}),
    ...(created !== undefined ? { created } : {}),
    ...(start !== undefined ? { start } : {}),
    ...(end !== undefined ? { end, endReason } : {}),
    ...(phase ? { phase } : {}),
    ...(vcpu !== undefined || gib !== undefined ? { requests: { ...(vcpu !== undefined ? { vcpu } : {}), ...(gib !== undefined ? { gib } : {}) } } : {}),
    ...(annotations[ECI_ANNOTATIONS.instanceSpec] ? { instanceSpec: annotations[ECI_ANNOTATIONS.instanceSpec] } : {}),
    ...(annotations[ECI_ANNOTATIONS.spotStrategy] ? { spotStrategy: annotations[ECI_ANNOTATIONS.spotStrategy] } : {}),
    ...(Number.isFinite(limit) && limit > 0 ? { spotPriceLimitPerHour: limit } : {}),
    // ECI ends a pod whose spot bid failed with status.reason BidFailed, as well as (or instead of) an event.
    ...(pod.status?.reason === 'BidFailed' ? { reclaimedAt: end ?? now } : {}),
  };
  return entry;
}
