import { createHash } from 'node:crypto';
import type { CoreV1Event } from '@kubernetes/client-node';
import { backoffDelay } from './backoff.js';
import { decide } from './classify.js';
import { readObject } from './kube-objects.js';
import { DEPARTMENT_LABEL, type KubeObject } from './manifest.js';
import type { QueueEntry } from './queue.js';
import { sparkApplicationUsage, usageToJson } from './resources.js';
import type { AdmitOutcome } from './admit.js';
import type { ClusterContext } from './run-context.js';

/** spark-operator's state for an app whose spark-submit failed. */
export const SUBMISSION_FAILED = 'SUBMISSION_FAILED';
/** The event spark-operator records then. */
export const SUBMISSION_FAILED_REASON = 'SparkApplicationSubmissionFailed';
/**
 * Driver annotation (in `spec.driver.annotations`) quota-retry sets to re-submit an app: a spec
 * change is what makes spark-operator submit an existing SparkApplication again. Its value names
 * the failure it answers, so a second drain (or a repeated event) changes nothing.
 */
export const RESUBMIT_ANNOTATION = 'sparkfn.io/resubmitted-after';
/** Optional annotation on a SparkApplication giving its queue priority (higher first). */
export const PRIORITY_ANNOTATION = 'sparkfn.io/priority';

/** Messages of a submission that failed on quota: 403 exceeded quota, or a 409 race on the quota object. */
const QUOTA_MESSAGE = /exceeded quota|Operation cannot be fulfilled on resourcequotas/;

interface AppStatus {
  applicationState?: { state?: string; errorMessage?: string };
  submissionAttempts?: number;
  lastSubmissionAttemptTime?: string;
}

function statusOf(app: KubeObject): AppStatus {
  return (app.status ?? {}) as AppStatus;
}

/** Whether spark-operator reports this app as failed to submit because of quota. */
export function isQuotaSubmissionFailure(app: KubeObject): boolean {
  const state = statusOf(app).applicationState;
  return app.kind === 'SparkApplication' && state?.state === SUBMISSION_FAILED && QUOTA_MESSAGE.test(state.errorMessage ?? '');
}

/** Whether an event is spark-operator's SparkApplicationSubmissionFailed for a quota reason. */
export function isQuotaSubmissionFailedEvent(event: CoreV1Event): boolean {
  return event.reason === SUBMISSION_FAILED_REASON && event.involvedObject?.kind === 'SparkApplication' && QUOTA_MESSAGE.test(event.message ?? '');
}

/** Names one failed submission of the app: its attempt count and time, hashed (stable across the event, the watch and relists). */
export function failureMarker(app: KubeObject): string {
  const s = statusOf(app);
  return createHash('sha256')
    .update(`${app.metadata?.uid ?? ''}/${s.submissionAttempts ?? 0}/${s.lastSubmissionAttemptTime ?? ''}`)
    .digest('hex')
    .slice(0, 12);
}

function resubmittedFor(app: KubeObject): string | undefined {
  return (app.spec as { driver?: { annotations?: Record<string, string> } } | undefined)?.driver?.annotations?.[RESUBMIT_ANNOTATION];
}

/** A quota submission failure quota-retry has not answered yet (a watch delivers the app again after our own patch). */
export function needsResubmit(app: KubeObject): boolean {
  return isQuotaSubmissionFailure(app) && resubmittedFor(app) !== failureMarker(app);
}

/** The queue entry that re-submits a SparkApplication whose submission failed on quota. */
export function resubmitEntry(app: KubeObject, now: number, defaultDeadlineMs: number): QueueEntry {
  const name = app.metadata!.name!;
  const marker = failureMarker(app);
  const usage = sparkApplicationUsage(app);
  // The SparkApplication exists: only its driver pod is still to come.
  usage.delete('count/sparkapplications.sparkoperator.k8s.io');
  const department = app.metadata?.labels?.[DEPARTMENT_LABEL];
  const priority = Number(app.metadata?.annotations?.[PRIORITY_ANNOTATION] ?? 0);
  return {
    version: 1,
    submissionId: `sparkapp-${name.slice(0, 200)}-${marker}`,
    namespace: app.metadata!.namespace!,
    action: 'resubmit',
    objects: [],
    resubmit: { name, marker },
    resources: usageToJson(usage),
    priority: Number.isInteger(priority) ? priority : 0,
    ...(department ? { department } : {}),
    enqueuedAt: now,
    deadline: now + defaultDeadlineMs,
  };
}

/**
 * Makes spark-operator submit the app again, once: if it is still in the failed state the entry
 * was made for and not yet re-submitted, merge-patch `spec.driver.annotations` with
 * RESUBMIT_ANNOTATION = the failure marker. spark-operator re-submits a SparkApplication whose
 * spec changed ("If the specification of the SparkApplication has changed, the operator submits
 * the application to run, using the updated specification": kubeflow/spark-operator,
 * docs/user-guide/working-with-sparkapplication.md). Patching the same value twice is no spec
 * change, so two drains racing here re-submit once; the patch carries the resourceVersion read, so
 * only one of them succeeds and counts it.
 */
export async function resubmit(ctx: ClusterContext, entry: QueueEntry): Promise<AdmitOutcome> {
  const { name, marker } = entry.resubmit!;
  const max = ctx.settings.backoff.maxAttempts;
  for (let attempt = 1; attempt <= max; attempt++) {
    try {
      ctx.summary.existenceChecks += 1;
      const app = await readObject(ctx.cluster, 'SparkApplication', entry.namespace, name);
      // Gone, re-submitted already, or failed again since (a newer entry answers that failure): nothing to do.
      if (!app || resubmittedFor(app) === marker) return { kind: 'created', alreadyCreated: true };
      if (statusOf(app).applicationState?.state !== SUBMISSION_FAILED || failureMarker(app) !== marker) return { kind: 'created', alreadyCreated: true };
      // The read's resourceVersion makes the apiserver the arbiter: of two drains patching at once one gets 409 Conflict, re-reads and finds it done, so one counts the admission.
      await ctx.apply.patch('SparkApplication', entry.namespace, name, { metadata: { resourceVersion: app.metadata?.resourceVersion }, spec: { driver: { annotations: { [RESUBMIT_ANNOTATION]: marker } } } });
      return { kind: 'created', alreadyCreated: false };
    } catch (err) {
      const verdict = decide(err);
      if (verdict.decision === 'permanent') return { kind: 'permanent', reason: verdict.error.class, message: verdict.error.message };
      if (attempt === max) return { kind: 'later', error: verdict.error };
      ctx.summary.retries[verdict.error.class] = (ctx.summary.retries[verdict.error.class] ?? 0) + 1;
      ctx.metrics.retries.inc({ class: verdict.error.class });
      if (!(await ctx.sleep(backoffDelay(ctx.settings.backoff, attempt, ctx.random, verdict.error.retryAfterSeconds), ctx.deps.signal))) {
        return { kind: 'later', error: verdict.error };
      }
    }
  }
  return { kind: 'later' };
}
