import { assertKeySegment } from '../../shared/ids.js';
import type { ObjectStore } from '../../shared/store/object-store.js';

/** Where permanent failures and expired entries go: `deadletter/quota-retry/<namespace>/<submissionId>.json`. */
export const DEAD_LETTER_PREFIX = 'deadletter/quota-retry/';

/** Why a submission was given up on, with everything needed to submit it again by hand. */
export interface DeadLetter {
  submissionId: string;
  namespace: string;
  /** `expired`, `forbidden`, `invalid`, `not-found`, `name-taken`, `corrupt-entry`… */
  reason: string;
  message: string;
  at: string;
  department?: string;
  /** The queue entry or webhook submission as it was. */
  submission: unknown;
}

export function deadLetterKey(namespace: string, submissionId: string): string {
  return `${DEAD_LETTER_PREFIX}${assertKeySegment(namespace, 'namespace')}/${assertKeySegment(submissionId, 'submission id')}.json`;
}

/** Writes the dead letter (deterministic key: a retried invocation overwrites it). */
export async function writeDeadLetter(store: ObjectStore, letter: DeadLetter): Promise<string> {
  const key = deadLetterKey(letter.namespace, letter.submissionId);
  await store.put(key, JSON.stringify(letter, null, 2), { contentType: 'application/json' });
  return key;
}
