import type { Deps } from '../../shared/deps.js';
import { errorMessage, InvalidInputError } from '../../shared/errors.js';
import type { SparkFunction } from '../../shared/platform/function.js';
import type { HttpResult, K8sEventsInput, K8sObjectsInput, TriggerInput } from '../../shared/platform/trigger.js';
import { drainAll } from './drain.js';
import { readObject, SPARK_GROUP, SPARK_PLURAL, SPARK_VERSION } from './kube-objects.js';
import type { KubeObject } from './manifest.js';
import { enqueue } from './queue.js';
import { withCluster, type QuotaRetryDeps } from './quota-retry-deps.js';
import { clusterContext, runContext, type RunContext } from './run-context.js';
import { resolveSettings, settingsFromEnvironment, DEFAULT_SETTINGS, type QuotaRetrySettings } from './settings.js';
import { isQuotaSubmissionFailedEvent, needsResubmit, resubmitEntry } from './spark-application.js';
import type { QuotaRetrySummary } from './summary.js';
import { handleWebhook, WEBHOOK_PATH } from './webhook.js';

export type { QuotaRetryDeps } from './quota-retry-deps.js';
export type { QuotaRetrySettings } from './settings.js';
export type { QuotaRetrySummary } from './summary.js';

/** What one invocation returns: the webhook's HTTP answer, or the run's counters. */
export type QuotaRetryResult = HttpResult | QuotaRetrySummary;

/**
 * quota-retry's core: driver submissions that lost a ResourceQuota race are retried, those over
 * quota wait in a fair queue, and no driver is ever created twice.
 * - `http` (POST /quota-retry/submission-failed, signed): a submitter's failed create
 *   `{submissionId, namespace, manifest, error, …}`, classified and retried, queued or dead-lettered.
 * - `schedule`: drains every namespace's queue.
 * - `k8s-objects`: a ResourceQuota change drains its namespace; a SparkApplication in
 *   SUBMISSION_FAILED with a quota message is queued for re-submission.
 * - `k8s-events`: spark-operator's SparkApplicationSubmissionFailed (quota) queues the app the same way.
 *
 * `deps.cluster` absent: submissions are classified and queued, drains do nothing.
 * @example
 * const summary = await run({ kind: 'schedule', source: 'local', time: Date.now() }, { ...deps, cluster });
 * // { trigger: 'drain', admitted: 12, waiting: 30, retries: { 'quota-conflict': 5 }, quotaReads: 1, … }
 */
export async function run(input: TriggerInput, deps: QuotaRetryDeps, settings?: Partial<QuotaRetrySettings>): Promise<QuotaRetryResult> {
  const resolved = resolveSettings(settings);
  switch (input.kind) {
    case 'http': {
      const ctx = runContext(deps, resolved, 'webhook');
      const result = await handleWebhook(input, ctx);
      logSummary(ctx);
      return result;
    }
    case 'schedule':
      return drainRun(runContext(deps, resolved, 'drain'));
    case 'k8s-objects':
      return onObjects(input, runContext(deps, resolved, 'spark-application'));
    case 'k8s-events':
      return onEvents(input, runContext(deps, resolved, 'spark-application'));
    default:
      throw new InvalidInputError(`quota-retry does not take ${input.kind} triggers; it takes http, schedule, k8s-objects and k8s-events.`, 'wrong-trigger');
  }
}

function logSummary(ctx: RunContext): QuotaRetrySummary {
  ctx.deps.logger.info({ function: 'quota-retry', summary: ctx.summary }, 'quota-retry run');
  return ctx.summary;
}

async function drainRun(ctx: RunContext, namespaces?: readonly string[]): Promise<QuotaRetrySummary> {
  const withCluster = clusterContext(ctx);
  if (!withCluster) ctx.deps.logger.warn({ function: 'quota-retry' }, 'no cluster configured (SPARKFN_K8S_URL, KUBECONFIG or in-cluster): the queue is not drained');
  else await drainAll(withCluster, namespaces);
  return logSummary(ctx);
}

async function queueFailedApp(ctx: RunContext, app: KubeObject): Promise<void> {
  const entry = resubmitEntry(app, ctx.deps.clock.now(), ctx.settings.defaultDeadlineMs);
  await enqueue(ctx.deps.store, entry);
  ctx.summary.received += 1;
  ctx.summary.queued += 1;
}

async function onObjects(input: K8sObjectsInput, ctx: RunContext): Promise<QuotaRetrySummary> {
  const drain = new Set<string>();
  for (const change of input.changes) {
    const object = change.object as unknown as KubeObject;
    const namespace = object.metadata?.namespace;
    if (!namespace || change.type === 'DELETED') continue;
    if (object.kind === 'ResourceQuota') drain.add(namespace);
    else if (needsResubmit(object)) await queueFailedApp(ctx, object);
  }
  if (drain.size === 0) return logSummary(ctx);
  ctx.summary.trigger = 'drain';
  return drainRun(ctx, [...drain]);
}

async function onEvents(input: K8sEventsInput, ctx: RunContext): Promise<QuotaRetrySummary> {
  const withCluster = clusterContext(ctx);
  for (const event of input.events.filter(isQuotaSubmissionFailedEvent)) {
    const { namespace, name } = event.involvedObject;
    if (!withCluster || !namespace || !name) {
      ctx.deps.logger.warn({ function: 'quota-retry', namespace, name }, 'SparkApplicationSubmissionFailed seen, but no cluster to read the app from');
      continue;
    }
    try {
      const app = await readObject(withCluster.cluster, 'SparkApplication', namespace, name);
      if (app && needsResubmit(app)) await queueFailedApp(ctx, app);
    } catch (err) {
      ctx.deps.logger.error({ function: 'quota-retry', namespace, name, err: errorMessage(err) }, 'could not read the failed SparkApplication');
    }
  }
  return logSummary(ctx);
}

/** How often `sparkfn serve` drains: SPARKFN_QUOTA_DRAIN_EVERY_SECONDS, the default when the environment is not valid yet. */
function drainEveryMs(): number {
  try {
    return settingsFromEnvironment().drainEveryMs;
  } catch {
    return DEFAULT_SETTINGS.drainEveryMs;
  }
}

/** quota-retry as every host sees it. */
export const fn: SparkFunction<QuotaRetryResult> = {
  name: 'quota-retry',
  triggers: ['http', 'schedule', 'k8s-objects', 'k8s-events'],
  routes: [{ path: WEBHOOK_PATH, methods: ['POST'], auth: 'webhook' }],
  get scheduleEveryMs() {
    return drainEveryMs();
  },
  watches: [{ path: '/api/v1/resourcequotas' }, { path: `/apis/${SPARK_GROUP}/${SPARK_VERSION}/${SPARK_PLURAL}` }],
  run: async (input: TriggerInput, deps: Deps) => run(input, await withCluster(deps)),
};
