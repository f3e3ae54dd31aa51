import { errorMessage, InvalidInputError } from '../../shared/errors.js';
import { errorResult, jsonResult } from '../../shared/http/server.js';
import { isTimedSignature } from '../../shared/http/timed-signature.js';
import { SIGNATURE_HEADER, webhookAuthProblem } from '../../shared/http/webhook-auth.js';
import type { HttpInput, HttpResult } from '../../shared/platform/trigger.js';
import { decide } from './classify.js';
import { drainNamespace } from './drain.js';
import { giveUp } from './give-up.js';
import { prepareManifest } from './manifest.js';
import { wasAdmitted } from './admitted.js';
import { enqueue, type QueueEntry } from './queue.js';
import { submissionUsage, usageToJson } from './resources.js';
import { clusterContext, type RunContext } from './run-context.js';
import { parseSubmission, type Submission } from './submission.js';

/** The webhook's path under `sparkfn serve` and the HTTP trigger. */
export const WEBHOOK_PATH = '/quota-retry/submission-failed';

/** What became of one webhook submission. */
export type WebhookOutcome = 'admitted' | 'queued' | 'already-created' | 'dead-lettered';

function parseBody(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new InvalidInputError('The body is not JSON; send {submissionId, namespace, manifest, error, …} as application/json.', 'invalid-json');
  }
}

/** Validates everything about a submission before anything is written: bad input is refused whole. */
function prepare(submission: Submission, now: number, defaultDeadlineMs: number): QueueEntry {
  const prepared = prepareManifest(submission.manifest, submission);
  return {
    version: 1,
    submissionId: submission.submissionId,
    namespace: submission.namespace,
    action: 'create',
    objects: prepared.objects,
    resources: usageToJson(submissionUsage(prepared.objects)),
    priority: submission.priority,
    ...(submission.department ? { department: submission.department } : {}),
    enqueuedAt: now,
    deadline: submission.deadline ?? now + defaultDeadlineMs,
    // A submitter that tried more than once may have created the driver with an answer it never saw.
    ...(submission.attempt > 1 ? { mayExist: true } : {}),
  };
}

/**
 * The submission-failure webhook. Authenticates (bearer token or HMAC signature, 401 otherwise),
 * validates the body (400 with a reason, nothing queued), then acts on the apiserver's error:
 * AlreadyExists → the submitter's object was created; a 409 quota race, 429 or 5xx → queued and
 * the namespace drained now (the retry, in FIFO order behind older entries); 403 exceeded quota →
 * queued; anything else → dead letter + alert. Answers 202 for queued, 200 otherwise.
 */
export async function handleWebhook(input: HttpInput, ctx: RunContext): Promise<HttpResult> {
  // Timed signatures are checked against the invocation's clock (a test's ManualClock too).
  const problem = webhookAuthProblem(input.headers, input.body, { ...ctx.settings.webhookAuth, now: () => ctx.deps.clock.now() });
  if (problem) return errorResult(401, 'unauthorized', `The webhook refused the request: ${problem}.`);
  const signature = input.headers[SIGNATURE_HEADER];
  if (signature && !isTimedSignature(signature) && !input.headers['authorization']) {
    ctx.deps.logger.warn({ function: 'quota-retry' }, `deprecated: ${SIGNATURE_HEADER}: sha256=<hmac of the body> covers no time, so a captured request can be replayed; sign t=<unix seconds>,v1=<hmac of "<t>.<body>"> (functions/quota-retry/README.md)`);
  }
  if (input.method !== 'POST') {
    const result = errorResult(405, 'method-not-allowed', `${input.method} is not allowed here; POST the submission.`);
    return { ...result, headers: { ...result.headers, allow: 'POST' } };
  }
  const { deps, settings, summary } = ctx;
  let submission: Submission;
  let entry: QueueEntry;
  try {
    submission = parseSubmission(parseBody(input.body));
    entry = prepare(submission, deps.clock.now(), settings.defaultDeadlineMs);
  } catch (err) {
    if (err instanceof InvalidInputError) return errorResult(400, err.reason, err.message);
    throw err;
  }
  summary.received += 1;
  const verdict = decide(submission.error);
  const answer = (status: number, outcome: WebhookOutcome, extra: Record<string, unknown> = {}) =>
    jsonResult(status, { outcome, submissionId: entry.submissionId, namespace: entry.namespace, errorClass: verdict.error.class, ...extra, summary });

  if (verdict.decision === 'done') {
    summary.alreadyCreated += 1;
    return answer(200, 'already-created');
  }
  if (await wasAdmitted(deps.store, entry.namespace, entry.submissionId)) {
    // A re-sent or replayed submission whose driver was admitted before: create nothing, even if that driver is gone now.
    summary.alreadyCreated += 1;
    return answer(200, 'already-created', { admittedBefore: true });
  }
  if (verdict.decision === 'permanent') {
    await giveUp(ctx, {
      submissionId: entry.submissionId,
      namespace: entry.namespace,
      reason: verdict.error.class,
      message: verdict.error.message,
      ...(entry.department ? { department: entry.department } : {}),
      submission: entry,
    });
    return answer(200, 'dead-lettered', { reason: verdict.error.class });
  }
  if (entry.deadline < deps.clock.now()) {
    await giveUp(ctx, { submissionId: entry.submissionId, namespace: entry.namespace, reason: 'expired', message: 'The submission arrived after its deadline.', submission: entry });
    return answer(200, 'dead-lettered', { reason: 'expired' });
  }
  await enqueue(deps.store, entry);
  summary.queued += 1;
  const withCluster = clusterContext(ctx);
  if (verdict.decision === 'queue' || !withCluster) {
    if (!withCluster && verdict.decision !== 'queue') deps.logger.warn({ function: 'quota-retry', submissionId: entry.submissionId }, 'no cluster configured: queued, not retried');
    return answer(202, 'queued', { enqueuedAt: new Date(entry.enqueuedAt).toISOString() });
  }
  // Retry now, but through the namespace's queue: older entries keep their place.
  try {
    await drainNamespace(withCluster, entry.namespace);
  } catch (err) {
    // The entry is queued: the next drain takes it. The answer still carries what this drain did.
    deps.logger.error({ function: 'quota-retry', namespace: entry.namespace, submissionId: entry.submissionId, err: errorMessage(err) }, 'the retry drain failed; the submission stays queued');
    return answer(202, 'queued', { enqueuedAt: new Date(entry.enqueuedAt).toISOString() });
  }
  // Unknown (the store did not answer) reads as still queued, which it then is for the next drain.
  const admittedNow = await wasAdmitted(deps.store, entry.namespace, entry.submissionId).catch(() => false);
  return !admittedNow || settings.dryRun ? answer(202, 'queued', { enqueuedAt: new Date(entry.enqueuedAt).toISOString() }) : answer(200, 'admitted');
}
