import { classifyApiError, type ClassifiedApiError } from '../../shared/k8s/classify-api-error.js';

/**
 * What quota-retry does about a failed create:
 * - `retry-now`: 409 on the ResourceQuota object (two apiserver replicas raced): the create did
 *   not happen and the quota had room: retry after a short jittered backoff.
 * - `queue`: 403 exceeded quota: wait in the queue until a drain finds room.
 * - `done`: 409 AlreadyExists: an earlier attempt created it (the caller checks it is ours).
 * - `backoff`: 429, 5xx, timeouts, a lost answer: retry with backoff; the create may have
 *   happened, so look the object up before the next try.
 * - `permanent`: invalid, RBAC-forbidden, not found (no such namespace), anything unrecognised.
 */
export type Decision = 'retry-now' | 'queue' | 'done' | 'backoff' | 'permanent';

export interface Verdict {
  decision: Decision;
  error: ClassifiedApiError;
}

const DECISIONS: Record<ClassifiedApiError['class'], Decision> = {
  'quota-conflict': 'retry-now',
  'quota-exceeded': 'queue',
  'already-exists': 'done',
  throttled: 'backoff',
  transient: 'backoff',
  gone: 'backoff',
  'not-found': 'permanent',
  forbidden: 'permanent',
  invalid: 'permanent',
};

/**
 * Classifies anything a create can throw (client-node ApiException, a metav1.Status posted to
 * the webhook, a network error) with shared/k8s classifyApiError and says what to do.
 * @example decide(status).decision // 'queue' for 403 exceeded quota
 */
export function decide(err: unknown): Verdict {
  const error = classifyApiError(err);
  return { decision: DECISIONS[error.class], error };
}
