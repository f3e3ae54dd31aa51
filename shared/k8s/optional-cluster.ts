import { loadConfig } from '../config.js';
import type { Deps } from '../deps.js';
import { createKubeClients, kubeConfigFromConfig, type KubeClients } from './client.js';

/** Deps of a function that uses the cluster when one is configured and works without it otherwise. */
export interface OptionalClusterDeps extends Deps {
  /** Absent when no cluster is configured (SPARKFN_K8S_URL, KUBECONFIG, ~/.kube/config, in-cluster). */
  cluster?: KubeClients;
}

let cached: Promise<KubeClients | undefined> | undefined;

/**
 * The cluster the configuration names, built once per process (safe to lose), or undefined when
 * none is configured. A configuration that names one wrongly throws its ConfigError.
 */
export async function optionalClusterFromEnvironment(): Promise<KubeClients | undefined> {
  cached ??= (async () => {
    const kubeConfig = await kubeConfigFromConfig(loadConfig());
    return kubeConfig ? createKubeClients(kubeConfig) : undefined;
  })();
  cached.catch(() => (cached = undefined));
  return cached;
}

/** `deps` with the configured cluster added, unless they carry a `cluster` key already (tests, hosts that pass one). */
export async function withOptionalCluster<D extends Deps>(deps: D): Promise<D & OptionalClusterDeps> {
  if ('cluster' in deps) return deps as D & OptionalClusterDeps;
  const cluster = await optionalClusterFromEnvironment();
  return cluster ? { ...deps, cluster } : deps;
}
