import type { Config } from '../../shared/config.js';
import type { Deps } from '../../shared/deps.js';
import { errorMessage } from '../../shared/errors.js';
import { kubeConfigFromConfig } from '../../shared/k8s/client.js';
import { SPARKFN_COMMAND } from '../../shared/text/command-name.js';
import { runJanitorCli } from './cli.js';
import { settingsFromConfig } from './settings.js';

/**
 * janitor's part of `sparkfn demo`: with a cluster configured, the dry-run plan against it
 * (nothing is deleted, whatever SPARKFN_JANITOR_DRY_RUN says); without one, a line saying so.
 */
export async function demo(config: Config, deps: Deps, out: (text: string) => void): Promise<void> {
  let kubeConfig;
  try {
    kubeConfig = await kubeConfigFromConfig(config);
  } catch (err) {
    out(`\njanitor: the cluster settings are not usable (${errorMessage(err)}); no dry run.\n`);
    return;
  }
  if (!kubeConfig) {
    out(`\njanitor: needs a cluster (SPARKFN_K8S_URL, KUBECONFIG or in-cluster); none is configured, so there is nothing to show. \`${SPARKFN_COMMAND} janitor --dry-run\` shows its plan once one is.\n`);
    return;
  }
  out(`\njanitor: dry run against ${kubeConfig.getCurrentCluster()?.server ?? 'the configured cluster'}\n`);
  try {
    await runJanitorCli({ dryRun: true }, { ...deps, kubeConfig }, out, { ...settingsFromConfig(config), dryRun: true });
  } catch (err) {
    out(`janitor: the dry run failed: ${errorMessage(err)}\n`);
  }
}
