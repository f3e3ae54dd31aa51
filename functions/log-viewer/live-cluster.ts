import { loadConfig } from '../../shared/config.js';
import type { Deps } from '../../shared/deps.js';
import { createKubeClients, kubeConfigFromConfig, type KubeClients } from '../../shared/k8s/client.js';

/** log-viewer's deps: the shared ones and, where there is a cluster, its clients. */
export interface LogViewerDeps extends Deps {
  /**
   * The cluster whose pods' logs continue the archive. Absent (or `undefined`): the one the
   * configuration names (SPARKFN_K8S_URL, KUBECONFIG, in-cluster), if any. Set to `undefined`
   * explicitly, archive only.
   */
  cluster?: KubeClients | undefined;
  /** Waits `ms` unless the signal aborts first (between follow reconnects); tests may shorten it. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

let cached: Promise<KubeClients | undefined> | undefined;

/**
 * The cluster for live logs: the deps' own when they carry the key, else the configured one,
 * built once per process. A configuration that names no cluster (FC or Lambda without a
 * kubeconfig) gives undefined: log-viewer then serves the archive alone and says so.
 */
export async function liveCluster(deps: LogViewerDeps): Promise<KubeClients | undefined> {
  if ('cluster' in deps) return deps.cluster;
  if (!cached) {
    const building = (async () => {
      const kubeConfig = await kubeConfigFromConfig(loadConfig());
      return kubeConfig ? createKubeClients(kubeConfig) : undefined;
    })();
    // A configuration error is reported to this request and tried again by the next.
    building.catch(() => (cached = undefined));
    cached = building;
  }
  return cached;
}
