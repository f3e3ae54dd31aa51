import type { KubeClients } from '../../shared/k8s/client.js';
import { patchOptions } from '../../shared/k8s/patch-options.js';
import type { Logger } from 'pino';
import type { KubeObject } from './manifest.js';

/** spark-operator's API (sparkoperator.k8s.io/v1beta2). */
export const SPARK_GROUP = 'sparkoperator.k8s.io';
export const SPARK_VERSION = 'v1beta2';
export const SPARK_PLURAL = 'sparkapplications';

type Json = Record<string, unknown>;

function ref(object: KubeObject): { kind: string; namespace: string; name: string } {
  return { kind: object.kind!, namespace: object.metadata!.namespace!, name: object.metadata!.name! };
}

/** `pod spark-jobs/etl-driver`, as dry-run lines and logs name objects. */
export function describeObject(kind: string, namespace: string, name: string): string {
  return `${kind.toLowerCase()} ${namespace}/${name}`;
}

/** Creates one supported object; returns it as stored (with its uid). */
export async function createObject(cluster: KubeClients, object: KubeObject): Promise<KubeObject> {
  const { kind, namespace } = ref(object);
  const body = object as never;
  switch (kind) {
    case 'Pod':
      return (await cluster.core.createNamespacedPod({ namespace, body })) as unknown as KubeObject;
    case 'ConfigMap':
      return (await cluster.core.createNamespacedConfigMap({ namespace, body })) as unknown as KubeObject;
    case 'Service':
      return (await cluster.core.createNamespacedService({ namespace, body })) as unknown as KubeObject;
    case 'SparkApplication':
      return (await cluster.custom.createNamespacedCustomObject({ group: SPARK_GROUP, version: SPARK_VERSION, namespace, plural: SPARK_PLURAL, body })) as KubeObject;
    default:
      throw new Error(`quota-retry cannot create a ${kind}.`);
  }
}

/** Reads one object by kind and name; undefined when it does not exist. Other errors propagate. */
export async function readObject(cluster: KubeClients, kind: string, namespace: string, name: string): Promise<KubeObject | undefined> {
  try {
    switch (kind) {
      case 'Pod':
        return (await cluster.core.readNamespacedPod({ namespace, name })) as unknown as KubeObject;
      case 'ConfigMap':
        return (await cluster.core.readNamespacedConfigMap({ namespace, name })) as unknown as KubeObject;
      case 'Service':
        return (await cluster.core.readNamespacedService({ namespace, name })) as unknown as KubeObject;
      case 'SparkApplication':
        return (await cluster.custom.getNamespacedCustomObject({ group: SPARK_GROUP, version: SPARK_VERSION, namespace, plural: SPARK_PLURAL, name })) as KubeObject;
      default:
        throw new Error(`quota-retry cannot read a ${kind}.`);
    }
  } catch (err) {
    if ((err as { code?: unknown }).code === 404) return undefined;
    throw err;
  }
}

/** Merge-patches one object (client-node needs the Content-Type said explicitly: shared/k8s/patch-options.ts). */
export async function mergePatchObject(cluster: KubeClients, kind: string, namespace: string, name: string, patch: Json): Promise<void> {
  const body = patch as never;
  const merge = await patchOptions('merge');
  switch (kind) {
    case 'ConfigMap':
      await cluster.core.patchNamespacedConfigMap({ namespace, name, body }, merge);
      return;
    case 'Service':
      await cluster.core.patchNamespacedService({ namespace, name, body }, merge);
      return;
    case 'SparkApplication':
      await cluster.custom.patchNamespacedCustomObject({ group: SPARK_GROUP, version: SPARK_VERSION, namespace, plural: SPARK_PLURAL, name, body }, merge);
      return;
    default:
      throw new Error(`quota-retry does not patch a ${kind}.`);
  }
}

/** The side-effect seam: every cluster write goes through here, and dry-run only logs it. */
export interface Applier {
  dryRun: boolean;
  create(object: KubeObject): Promise<KubeObject>;
  patch(kind: string, namespace: string, name: string, patch: Json): Promise<void>;
}

/**
 * The cluster writes quota-retry makes. In dry-run they log `dry-run: would create pod ns/name`
 * and answer as if done (a create returns the object with no uid).
 */
export function applier(cluster: KubeClients, logger: Logger, dryRun: boolean): Applier {
  return {
    dryRun,
    async create(object) {
      const { kind, namespace, name } = ref(object);
      if (dryRun) {
        logger.info({ function: 'quota-retry', kind, namespace, name }, `dry-run: would create ${describeObject(kind, namespace, name)}`);
        return object;
      }
      return createObject(cluster, object);
    },
    async patch(kind, namespace, name, patch) {
      if (dryRun) {
        logger.info({ function: 'quota-retry', kind, namespace, name, patch }, `dry-run: would patch ${describeObject(kind, namespace, name)}`);
        return;
      }
      await mergePatchObject(cluster, kind, namespace, name, patch);
    },
  };
}
