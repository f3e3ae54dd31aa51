import type { CoreV1Api, V1Pod } from '@kubernetes/client-node';
import { DRIVER_EXECUTOR_ID } from '../log-archiver/identity.js';

/** The containers Spark names in its driver and executor pods; any other pod's log is its first container's. */
export const SPARK_CONTAINERS = ['spark-kubernetes-driver', 'spark-kubernetes-executor'] as const;

/** A label value as the apiserver accepts it in a selector (63 characters, alphanumerics with `-_.` inside). */
const LABEL_VALUE = /^(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)$/;

/** What log-viewer knows of an executor's pod. */
export interface ExecutorPod {
  namespace: string;
  name: string;
  /** The node it runs on (for ECI, the virtual node). */
  node?: string;
  phase?: string;
  /** The container whose log is the executor's. */
  container: string;
  /** `running`, `waiting`, `terminated` (the current instance), or `unknown` when the status does not say. */
  state: 'running' | 'waiting' | 'terminated' | 'unknown';
  restartCount: number;
  /** The id of the current instance, to notice a restart while following. */
  containerId?: string;
  /** When the previous instance (after a restart) ended, RFC3339; undefined when there was none. */
  previousFinishedAt?: string;
  /** The pod has a deletionTimestamp: it is going. */
  deleting: boolean;
}

/**
 * The label selector of an executor's pod: Spark labels every pod of an app with
 * `spark-app-selector=<appId>`, executors with `spark-exec-id=<id>`, the driver with
 * `spark-role=driver`. Undefined when an id cannot be a label value (no pod can carry it).
 * @example executorSelector('spark-1a2b', 'driver') // 'spark-app-selector=spark-1a2b,spark-role=driver'
 */
export function executorSelector(appId: string, executorId: string): string | undefined {
  if (!LABEL_VALUE.test(appId)) return undefined;
  if (executorId === DRIVER_EXECUTOR_ID) return `spark-app-selector=${appId},spark-role=driver`;
  if (!LABEL_VALUE.test(executorId)) return undefined;
  return `spark-app-selector=${appId},spark-exec-id=${executorId}`;
}

/** The Spark container of a pod, or its first. */
export function sparkContainer(pod: V1Pod): string | undefined {
  const names = (pod.spec?.containers ?? []).map((c) => c.name);
  return names.find((n) => (SPARK_CONTAINERS as readonly string[]).includes(n)) ?? names[0];
}

/** What log-viewer needs of a pod. */
export function describePod(pod: V1Pod): ExecutorPod | undefined {
  const container = sparkContainer(pod);
  if (!container || !pod.metadata?.name) return undefined;
  const status = pod.status?.containerStatuses?.find((s) => s.name === container);
  const state = status?.state?.running ? 'running' : status?.state?.terminated ? 'terminated' : status?.state?.waiting ? 'waiting' : 'unknown';
  const finished = status?.lastState?.terminated?.finishedAt;
  return {
    namespace: pod.metadata.namespace ?? 'default',
    name: pod.metadata.name,
    ...(pod.spec?.nodeName ? { node: pod.spec.nodeName } : {}),
    ...(pod.status?.phase ? { phase: pod.status.phase } : {}),
    container,
    state,
    restartCount: status?.restartCount ?? 0,
    ...(status?.containerID ? { containerId: status.containerID } : {}),
    ...(finished ? { previousFinishedAt: finished instanceof Date ? finished.toISOString() : String(finished) } : {}),
    deleting: Boolean(pod.metadata.deletionTimestamp),
  };
}

/** Whether the pod's container will write no more: its instance terminated, or the pod ended. */
export function containerEnded(pod: ExecutorPod): boolean {
  return pod.state === 'terminated' || pod.phase === 'Succeeded' || pod.phase === 'Failed';
}

/**
 * The pod of an executor (`driver` for the driver), found by its labels in every namespace;
 * the newest when several match. Undefined when there is none.
 */
export async function findExecutorPod(core: CoreV1Api, appId: string, executorId: string): Promise<ExecutorPod | undefined> {
  const labelSelector = executorSelector(appId, executorId);
  if (!labelSelector) return undefined;
  const list = await core.listPodForAllNamespaces({ labelSelector });
  const created = (pod: V1Pod) => new Date(pod.metadata?.creationTimestamp ?? 0).getTime();
  const newest = [...list.items].sort((a, b) => created(b) - created(a))[0];
  return newest ? describePod(newest) : undefined;
}

/** The pod again by name (while following), or undefined when it is gone. */
export async function readExecutorPod(core: CoreV1Api, namespace: string, name: string): Promise<ExecutorPod | undefined> {
  try {
    return describePod(await core.readNamespacedPod({ name, namespace }));
  } catch (err) {
    if ((err as { code?: number }).code === 404) return undefined;
    throw err;
  }
}
