import type { Metrics } from '../../shared/metrics.js';

/** quota-retry's Prometheus metrics (sparkfn_quota_retry_*). */
export function quotaMetrics(metrics: Metrics) {
  return {
    retries: metrics.counter('quota_retry_retries_total', 'Create retries, by the class of the error that caused them.', ['class']),
    admissions: metrics.counter('quota_retry_admissions_total', 'Submissions whose objects were created (or found created).', ['namespace', 'department']),
    permanentFailures: metrics.counter('quota_retry_permanent_failures_total', 'Submissions dead-lettered, by reason.', ['reason']),
    queueDepth: metrics.gauge('quota_retry_queue_depth', 'Queued submissions after the last drain.', ['namespace', 'department']),
    queueAge: metrics.gauge('quota_retry_queue_oldest_age_seconds', 'Age of the oldest queued submission after the last drain.', ['namespace', 'department']),
  };
}
