import type { KubeConfig } from '@kubernetes/client-node';
import type { Config } from '../../shared/config.js';
import type { Deps } from '../../shared/deps.js';
import { ConfigError, SparkfnError, UsageError, errorMessage } from '../../shared/errors.js';
import { kubeConfigFromConfig } from '../../shared/k8s/client.js';
import { createLogger } from '../../shared/logger.js';
import { createDeps } from '../../shared/platform/runtime.js';
import { formatView } from './format-view.js';
import { SparkModel } from './model.js';
import { monitorSettingsFromConfig, type MonitorSettings } from './settings.js';
import { listSnapshot } from './snapshot.js';
import { readStoreSignals } from './store-signals.js';
import { computeView, type MonitorView } from './view.js';

/** What `sparkfn monitor [-o table|json]` asks for. */
export interface MonitorCliOptions {
  output?: string;
}

/**
 * The monitor's view of `kubeConfig`'s cluster from one list snapshot plus the store's signals,
 * printed as tables or (`json`) as the MonitorView document (fields in the function's README).
 */
export async function printMonitorView(options: MonitorCliOptions, deps: Deps & { kubeConfig: KubeConfig }, settings: MonitorSettings, out: (text: string) => void): Promise<MonitorView> {
  const output = options.output ?? 'table';
  if (output !== 'table' && output !== 'json') throw new UsageError(`-o must be table or json, not ${JSON.stringify(output)}.`);
  const now = deps.clock.now();
  let objects;
  try {
    objects = await listSnapshot(deps.kubeConfig, deps.signal);
  } catch (err) {
    throw new SparkfnError(`spark-monitor: the cluster could not be listed: ${errorMessage(err)}`, { cause: err });
  }
  const model = new SparkModel();
  model.replaceAll(objects, now);
  const signals = await readStoreSignals(deps.store, now, deps.logger);
  const view = computeView(model, signals, now, settings);
  out(output === 'json' ? JSON.stringify(view, null, 2) + '\n' : formatView(view));
  return view;
}

/** `sparkfn monitor`: the configured cluster and store. Exit codes: 0 printed, 1 the cluster could not be listed, 2 usage or configuration. */
export async function monitorCommand(config: Config, options: MonitorCliOptions, out: (text: string) => void): Promise<void> {
  const kubeConfig = await kubeConfigFromConfig(config);
  if (!kubeConfig) {
    throw new ConfigError('Invalid configuration: sparkfn monitor needs a cluster; set SPARKFN_K8S_URL (with a token) or KUBECONFIG.', [{ variable: 'SPARKFN_K8S_URL', message: 'point it at the apiserver' }]);
  }
  const deps = createDeps(config, { logger: createLogger(config.SPARKFN_LOG_LEVEL === 'info' ? 'warn' : config.SPARKFN_LOG_LEVEL, 2) });
  await printMonitorView(options, { ...deps, kubeConfig }, monitorSettingsFromConfig(config), out);
}
