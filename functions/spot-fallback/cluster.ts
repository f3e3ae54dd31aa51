import type { KubeConfig, V1Pod } from '@kubernetes/client-node';
import { loadKubeClient } from '../../shared/k8s/load-client.js';
import { patchOptions } from '../../shared/k8s/patch-options.js';
import { requestJson } from '../../shared/k8s/raw-request.js';

/** What an eviction came to. */
export type EvictionOutcome = 'evicted' | 'gone' | 'blocked';

/** The cluster calls spot-fallback makes. */
export interface SpotCluster {
  /** The pod, or undefined when it no longer exists. */
  getPod(namespace: string, name: string): Promise<V1Pod | undefined>;
  /** Deletes the pod if it is still the one with `uid` (a precondition, so a same-named replacement is safe). */
  deletePod(namespace: string, name: string, uid: string | undefined): Promise<'deleted' | 'gone'>;
  /** POST …/pods/<name>/eviction: 429 when a PodDisruptionBudget forbids it now. */
  evictPod(namespace: string, name: string): Promise<EvictionOutcome>;
  /** Merges labels and annotations into the pod's metadata. */
  patchPodMetadata(namespace: string, name: string, metadata: { labels?: Record<string, string>; annotations?: Record<string, string> }): Promise<void>;
}

/** A SpotCluster over client-node (typed calls, and a raw request for the Eviction subresource). */
export async function kubeSpotCluster(kubeConfig: KubeConfig): Promise<SpotCluster> {
  const { ApiException, CoreV1Api } = await loadKubeClient();
  const code = (err: unknown): number | undefined => (err instanceof ApiException ? err.code : undefined);
  const core = kubeConfig.makeApiClient(CoreV1Api);
  return {
    async getPod(namespace, name) {
      try {
        return await core.readNamespacedPod({ namespace, name });
      } catch (err) {
        if (code(err) === 404) return undefined;
        throw err;
      }
    },
    async deletePod(namespace, name, uid) {
      try {
        await core.deleteNamespacedPod({ namespace, name, body: uid ? { preconditions: { uid } } : {} });
        return 'deleted';
      } catch (err) {
        // 404: gone already; 409 on the uid precondition: a replacement took the name.
        if (code(err) === 404 || code(err) === 409) return 'gone';
        throw err;
      }
    },
    async evictPod(namespace, name) {
      try {
        await requestJson(kubeConfig, {
          method: 'POST',
          path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(name)}/eviction`,
          body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace } },
        });
        return 'evicted';
      } catch (err) {
        if (code(err) === 404) return 'gone';
        // https://kubernetes.io/docs/concepts/scheduling-eviction/api-eviction/: 429 while a PDB forbids it.
        if (code(err) === 429) return 'blocked';
        throw err;
      }
    },
    async patchPodMetadata(namespace, name, metadata) {
      await core.patchNamespacedPod({ namespace, name, body: { metadata } }, await patchOptions('merge'));
    },
  };
}
