import type { KubeClients } from '../k8s/client.js';
import { classifyApiError } from '../k8s/classify-api-error.js';
import { SPARK_POD_LABELS, type AppIdSource, type ResolvedApp, type SparkApplicationRef } from './app-identity.js';

/**
 * How long one lookup may wait on the apiserver before the next source is asked: an unreachable
 * apiserver (a private endpoint a function cannot route to) would otherwise hold an invocation
 * until its connect timeout, far past a Lambda's or FC's budget for one app end.
 */
export const DEFAULT_LOOKUP_TIMEOUT_MS = 5_000;

/**
 * Deps of a function that asks the cluster when its host hands it one. Function Compute and
 * Lambda entry points do not: @kubernetes/client-node would add about 1.3 MB to a bundle that
 * must stay under 2 MB (app/build/bundle.ts), so there the event logs answer instead.
 */
export interface ClusterDeps {
  cluster?: Pick<KubeClients, 'core' | 'custom'>;
}

/** Where spark-operator's SparkApplications are served (v1beta2 in 1.3.x and every 2.x release). */
export const SPARK_APPLICATION_API = { group: 'sparkoperator.k8s.io', version: 'v1beta2', plural: 'sparkapplications' } as const;

interface SparkApplicationShape {
  status?: { sparkApplicationId?: unknown; driverInfo?: { podName?: unknown } };
}

const notFound = (err: unknown) => classifyApiError(err).class === 'not-found';

/**
 * Asks the cluster: the SparkApplication's `status.sparkApplicationId` (the operator copies the
 * driver pod's `spark-app-selector` there), else the driver pod's own label (status.driverInfo's
 * pod, or the event's, or `<name>-driver`). A SparkApplication or pod that is gone (404; a TTL
 * may have deleted it) is "unknown", so the next source is asked; any other error is thrown.
 * @example await sparkApplicationSource(clients).resolve({ namespace: 'spark-jobs', name: 'spark-pi' }) // { appId: 'spark-4f9c…', resolvedBy: 'spark-application-status' }
 */
export function sparkApplicationSource(cluster: Pick<KubeClients, 'core' | 'custom'>, options: { timeoutMs?: number } = {}): AppIdSource {
  const timeoutMs = options.timeoutMs ?? DEFAULT_LOOKUP_TIMEOUT_MS;
  return {
    name: 'spark-application-status',
    resolve: (app) => withTimeout(lookUp(cluster, app), timeoutMs, `the apiserver did not answer within ${timeoutMs} ms`),
  };
}

async function withTimeout<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

async function lookUp(cluster: Pick<KubeClients, 'core' | 'custom'>, app: SparkApplicationRef): Promise<ResolvedApp | undefined> {
  let object: SparkApplicationShape | undefined;
  try {
    object = (await cluster.custom.getNamespacedCustomObject({ ...SPARK_APPLICATION_API, namespace: app.namespace, name: app.name })) as SparkApplicationShape;
  } catch (err) {
    if (!notFound(err)) throw err;
  }
  const id = object?.status?.sparkApplicationId;
  if (typeof id === 'string' && id !== '') return { appId: id, resolvedBy: 'spark-application-status' };
  const statusPod = object?.status?.driverInfo?.podName;
  const driverPod = typeof statusPod === 'string' && statusPod !== '' ? statusPod : (app.driverPod ?? `${app.name}-driver`);
  try {
    const pod = await cluster.core.readNamespacedPod({ namespace: app.namespace, name: driverPod });
    const label = pod.metadata?.labels?.[SPARK_POD_LABELS.appId];
    return label ? { appId: label, resolvedBy: 'driver-pod-labels' } : undefined;
  } catch (err) {
    if (notFound(err)) return undefined;
    throw err;
  }
}
