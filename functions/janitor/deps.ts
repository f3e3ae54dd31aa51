import type { KubeConfig } from '@kubernetes/client-node';
import { loadConfig } from '../../shared/config.js';
import type { Deps } from '../../shared/deps.js';
import { ConfigError } from '../../shared/errors.js';
import { kubeConfigFromConfig } from '../../shared/k8s/client.js';
import type { DepsFactory } from '../../shared/platform/function.js';
import { depsFromEnvironment } from '../../shared/platform/runtime.js';

/** What janitor needs beyond the common deps: the cluster it cleans. */
export interface JanitorDeps extends Deps {
  kubeConfig: KubeConfig;
}

let cachedKubeConfig: KubeConfig | undefined;

/** The cluster the environment names (SPARKFN_K8S_URL, KUBECONFIG, in-cluster), built once per process. */
export async function kubeConfigFromEnvironment(): Promise<KubeConfig> {
  cachedKubeConfig ??= await kubeConfigFromConfig(loadConfig());
  if (!cachedKubeConfig) {
    throw new ConfigError('Invalid configuration: janitor needs a cluster; set SPARKFN_K8S_URL (with a token), KUBECONFIG, or run in a pod.', [
      { variable: 'SPARKFN_K8S_URL', message: 'point it at the apiserver, or set KUBECONFIG' },
    ]);
  }
  return cachedKubeConfig;
}

/** `deps` with a cluster: the one it carries, else the environment's (hosts like `sparkfn serve` pass plain Deps). */
export async function withCluster(deps: Deps | JanitorDeps): Promise<JanitorDeps> {
  return 'kubeConfig' in deps && deps.kubeConfig ? deps : { ...deps, kubeConfig: await kubeConfigFromEnvironment() };
}

/** The DepsFactory of janitor's Lambda and FC entry points. */
export const janitorDepsFromEnvironment: DepsFactory<JanitorDeps> = async (options) => withCluster(await depsFromEnvironment(options));
