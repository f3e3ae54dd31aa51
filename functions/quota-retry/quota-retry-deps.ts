import { loadConfig } from '../../shared/config.js';
import type { Deps } from '../../shared/deps.js';
import { createKubeClients, kubeConfigFromConfig, type KubeClients } from '../../shared/k8s/client.js';
import { depsFromEnvironment } from '../../shared/platform/runtime.js';
import { sleep } from './backoff.js';

/** What quota-retry needs beyond the shared deps: the cluster, and seams for backoff. */
export interface QuotaRetryDeps extends Deps {
  /** Absent when no cluster is configured: submissions are then only classified and queued. */
  cluster?: KubeClients;
  /** Uniform [0, 1) draws for backoff jitter (Math.random unless a test injects one). */
  random?: () => number;
  /** Waits `ms` unless the signal aborts first (false then); tests advance a ManualClock instead. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<boolean>;
}

let cachedCluster: { clients: KubeClients | undefined } | undefined;

/** The cluster the configuration names (SPARKFN_K8S_URL, KUBECONFIG, in-cluster), built once per process. */
export async function clusterFromEnvironment(): Promise<KubeClients | undefined> {
  if (!cachedCluster) {
    const kubeConfig = await kubeConfigFromConfig(loadConfig());
    // Two first invocations may both get here: the first to finish is kept.
    cachedCluster ??= { clients: kubeConfig ? await createKubeClients(kubeConfig) : undefined };
  }
  return cachedCluster.clients;
}

/**
 * `deps` with a cluster: hosts that build plain Deps (`sparkfn serve`, the shared adapters) get
 * the configured one added here.
 */
export async function withCluster(deps: Deps): Promise<QuotaRetryDeps> {
  const own = deps as QuotaRetryDeps;
  if ('cluster' in own) return own;
  const cluster = await clusterFromEnvironment();
  return cluster ? { ...own, cluster } : own;
}

/** The DepsFactory of quota-retry's Lambda and FC entry points. */
export const quotaRetryDepsFromEnvironment = async (options: { signal?: AbortSignal }): Promise<QuotaRetryDeps> => withCluster(await depsFromEnvironment(options));

/** The seams with their production defaults filled in. */
export function seams(deps: QuotaRetryDeps): { random: () => number; sleep: (ms: number, signal?: AbortSignal) => Promise<boolean> } {
  return { random: deps.random ?? Math.random, sleep: deps.sleep ?? sleep };
}
