import { errorMessage } from '../../shared/errors.js';
import { sendAlert } from './alert.js';
import { writeDeadLetter, type DeadLetter } from './dead-letter.js';
import type { RunContext } from './run-context.js';

/**
 * Gives up on a submission: writes its dead letter first (so nothing is lost even when the
 * alert receiver is down), then alerts when a URL is configured, and counts it.
 */
export async function giveUp(ctx: RunContext, letter: Omit<DeadLetter, 'at'>): Promise<void> {
  const { deps, settings, summary, metrics } = ctx;
  const full: DeadLetter = { ...letter, at: new Date(deps.clock.now()).toISOString() };
  const key = await writeDeadLetter(deps.store, full);
  summary.deadLettered += 1;
  if (letter.reason === 'expired') summary.expired += 1;
  metrics.permanentFailures.inc({ reason: letter.reason });
  deps.logger.warn({ function: 'quota-retry', submissionId: letter.submissionId, namespace: letter.namespace, reason: letter.reason, message: letter.message, deadLetter: key }, 'submission dead-lettered');
  if (!settings.alertUrl) return;
  const sent = await sendAlert(settings.alertUrl, full, key).catch((err: unknown) => {
    deps.logger.error({ function: 'quota-retry', err: errorMessage(err) }, 'alert failed');
    return false;
  });
  if (sent) summary.alertsSent += 1;
  else summary.alertsFailed += 1;
}
