import { assertKeySegment } from '../../shared/ids.js';
import type { ObjectStore } from '../../shared/store/object-store.js';
import type { QueueEntry } from './queue.js';

/**
 * Where the fact "this submission was admitted" lives: `queue/admitted/<namespace>/<submissionId>.json`.
 * Written (blind, by whoever sees the driver exist) before the entry leaves the queue; read before a
 * webhook queues and before a drain creates, so a replayed or late submission creates nothing even
 * after its driver pod is gone. Kept: expire them with a lifecycle rule on the prefix, longer than
 * SPARKFN_WEBHOOK_MAX_AGE_SECONDS and than bearer-token callers may re-send (README).
 */
export const ADMITTED_PREFIX = 'queue/admitted/';

/** The fact's content: what was admitted, not by whom (every writer writes the same thing). */
export interface AdmittedFact {
  submissionId: string;
  namespace: string;
  action: QueueEntry['action'];
  /** `Kind/name` of every object the submission owns, the driver (or SparkApplication) last. */
  objects: string[];
}

export function admittedKey(namespace: string, submissionId: string): string {
  return `${ADMITTED_PREFIX}${assertKeySegment(namespace, 'namespace')}/${assertKeySegment(submissionId, 'submission id')}.json`;
}

/** Records the admission; a second writer overwrites the same content. */
export async function recordAdmitted(store: ObjectStore, entry: Pick<QueueEntry, 'namespace' | 'submissionId' | 'action' | 'objects' | 'resubmit'>): Promise<void> {
  const fact: AdmittedFact = {
    submissionId: entry.submissionId,
    namespace: entry.namespace,
    action: entry.action,
    objects: entry.action === 'resubmit' ? [`SparkApplication/${entry.resubmit?.name ?? ''}`] : entry.objects.map((o) => `${o.kind}/${o.metadata?.name}`),
  };
  await store.put(admittedKey(entry.namespace, entry.submissionId), JSON.stringify(fact), { contentType: 'application/json' });
}

/** Whether the submission was admitted before. */
export async function wasAdmitted(store: ObjectStore, namespace: string, submissionId: string): Promise<boolean> {
  return (await store.head(admittedKey(namespace, submissionId))) !== undefined;
}
