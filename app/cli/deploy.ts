import { readFile } from 'node:fs/promises';
import type { Config } from '../../shared/config.js';
import { ConfigError, SparkfnError, errorMessage } from '../../shared/errors.js';
import { applySteps, planSteps, type DeploySummary, type PlanStep } from '../deploy/fc-apply.js';
import { createFcClient, type FcApi } from '../deploy/fc-client.js';
import { planFc } from '../deploy/fc-plan.js';
import { formatTable } from '../../shared/text/table.js';

/** Where `npm run build` writes the FC bundles, one folder per function. */
export const DEFAULT_FC_BUNDLE_ROOT = 'dist/fc';
/** Only for the dry run's offline plan, where RegionId fills the Kafka source parameters. */
const PLACEHOLDER_REGION = '<SPARKFN_FC_REGION>';

export interface DeployFcOptions {
  dryRun: boolean;
  /** serverless.yml's path. */
  file: string;
  bundleRoot: string;
}

const REQUIRED = [
  ['ALIBABA_CLOUD_ACCESS_KEY_ID', 'set it to an AccessKey id allowed to manage FC (and EventBridge for the Kafka and EventBridge triggers)'],
  ['ALIBABA_CLOUD_ACCESS_KEY_SECRET', 'set it to that AccessKey\'s secret'],
  ['SPARKFN_FC_ACCOUNT_ID', 'set it to your Alibaba Cloud account id'],
  ['SPARKFN_FC_REGION', 'set it to the region to deploy to, e.g. cn-hangzhou'],
] as const;

function connect(config: Config): FcApi | undefined {
  if (REQUIRED.some(([variable]) => !config[variable])) return undefined;
  return createFcClient({
    accountId: config.SPARKFN_FC_ACCOUNT_ID!,
    region: config.SPARKFN_FC_REGION!,
    accessKeyId: config.ALIBABA_CLOUD_ACCESS_KEY_ID!,
    accessKeySecret: config.ALIBABA_CLOUD_ACCESS_KEY_SECRET!,
    ...(config.SPARKFN_FC_ENDPOINT && { endpoint: config.SPARKFN_FC_ENDPOINT }),
  });
}

const row = (s: PlanStep) => [s.resource, s.name, s.action, s.details];

/**
 * `sparkfn deploy fc`: makes Function Compute match serverless.yml. With `dryRun` it prints the
 * plan and writes nothing; without credentials a dry run shows the whole desired state. Never
 * prints credentials or environment values.
 */
export async function deployFc(config: Config, env: NodeJS.ProcessEnv, options: DeployFcOptions, out: (text: string) => void): Promise<DeploySummary | undefined> {
  const client = connect(config);
  if (!client && !options.dryRun) {
    const missing = REQUIRED.filter(([variable]) => !config[variable]);
    throw new ConfigError(`Invalid configuration: deploy fc needs ${missing.map(([v]) => v).join(', ')}.`, missing.map(([variable, message]) => ({ variable, message })));
  }
  const yamlText = await readFile(options.file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new ConfigError(`Cannot read ${options.file} (${err.code ?? err.message}); run from the repository root or pass --file.`, [{ variable: 'serverless.yml', message: 'pass --file' }]);
  });
  const desired = planFc(yamlText, {
    env,
    region: config.SPARKFN_FC_REGION ?? PLACEHOLDER_REGION,
    bundleRoot: options.bundleRoot,
    ...(config.SPARKFN_FC_SERVICE && { serviceName: config.SPARKFN_FC_SERVICE }),
    ...(config.SPARKFN_FC_KAFKA_INSTANCE_ID && { kafkaInstanceId: config.SPARKFN_FC_KAFKA_INSTANCE_ID }),
  });
  const steps = await planSteps(desired, client).catch((err: unknown) => {
    throw new SparkfnError(`deploy fc: reading FC failed: ${errorMessage(err)}`, { cause: err });
  });
  if (!client) out(`FC not read (set ${REQUIRED.map(([v]) => v).join(', ')} to compare): the whole desired state follows.\n`);
  out(formatTable(['resource', 'name', 'action', 'details'], steps.map(row)) + '\n');
  const count = (action: PlanStep['action']) => steps.filter((s) => s.action === action).length;
  if (options.dryRun) {
    out(`dry-run: would create ${count('create')}, update ${count('update')}; ${count('unchanged')} unchanged, ${count('blocked')} blocked, ${count('left alone')} left alone.\n`);
    return undefined;
  }
  const summary = await applySteps(steps, client!, (step, error) =>
    out(error ? `${step.action} ${step.resource} ${step.name} failed: ${error}\n` : `${step.action === 'create' ? 'created' : 'updated'} ${step.resource} ${step.name}\n`),
  );
  out(`deploy fc: created ${summary.created}, updated ${summary.updated}, unchanged ${summary.unchanged}, blocked ${summary.blocked}, failed ${summary.failed}.\n`);
  if (summary.failed > 0 || summary.blocked > 0) {
    throw new SparkfnError(`deploy fc: ${summary.failed} step(s) failed and ${summary.blocked} blocked; see the lines above.`);
  }
  return summary;
}
