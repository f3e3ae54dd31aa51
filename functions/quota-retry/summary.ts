import type { ApiErrorClass } from '../../shared/k8s/classify-api-error.js';

/** What one invocation did; logged as one line and returned (inside the HTTP answer for the webhook). */
export interface QuotaRetrySummary {
  trigger: 'webhook' | 'drain' | 'spark-application' | 'none';
  /** Submissions (webhook bodies, failed SparkApplications) taken in. */
  received: number;
  /** Submissions whose objects now exist (created by this run, or found created). */
  admitted: number;
  /** Of those, how many were found already created (AlreadyExists, or the existence check). */
  alreadyCreated: number;
  /** Entries written to the queue. */
  queued: number;
  /** Entries left waiting in the queue at the end of a drain. */
  waiting: number;
  /** Entries passed over because their department is at its cap. */
  capped: number;
  /** Retries, by the class of the error that caused them. */
  retries: Partial<Record<ApiErrorClass, number>>;
  /** Lookups of an object by name before a retry or after a 403. */
  existenceChecks: number;
  /** ResourceQuota lists (one per namespace drained). */
  quotaReads: number;
  /** Permanent failures and deadline expiries written to deadletter/quota-retry/. */
  deadLettered: number;
  expired: number;
  alertsSent: number;
  alertsFailed: number;
  namespaces: number;
  dryRun: boolean;
}

export function emptySummary(trigger: QuotaRetrySummary['trigger'], dryRun: boolean): QuotaRetrySummary {
  return {
    trigger,
    received: 0,
    admitted: 0,
    alreadyCreated: 0,
    queued: 0,
    waiting: 0,
    capped: 0,
    retries: {},
    existenceChecks: 0,
    quotaReads: 0,
    deadLettered: 0,
    expired: 0,
    alertsSent: 0,
    alertsFailed: 0,
    namespaces: 0,
    dryRun,
  };
}

/** Adds `from`'s counters into `into` (a webhook that drains reports both). */
export function mergeSummary(into: QuotaRetrySummary, from: QuotaRetrySummary): QuotaRetrySummary {
  for (const key of ['received', 'admitted', 'alreadyCreated', 'queued', 'capped', 'existenceChecks', 'quotaReads', 'deadLettered', 'expired', 'alertsSent', 'alertsFailed', 'namespaces'] as const) {
    into[key] += from[key];
  }
  into.waiting = from.waiting;
  for (const [cls, n] of Object.entries(from.retries)) into.retries[cls as ApiErrorClass] = (into.retries[cls as ApiErrorClass] ?? 0) + (n ?? 0);
  return into;
}
