import { errorMessage } from '../../shared/errors.js';
import { assertKeySegment } from '../../shared/ids.js';
import { NotFoundError } from '../../shared/errors.js';
import type { ObjectStore } from '../../shared/store/object-store.js';
import { getBuffer, listAll } from '../../shared/store/read.js';
import type { KubeObject } from './manifest.js';

/** Where parked submissions live: `queue/pending/<namespace>/<submissionId>.json` (DESIGN.md's store layout). */
export const QUEUE_PREFIX = 'queue/pending/';

/** A parked submission. Written whole; the key is the submission's, so a re-sent webhook overwrites. */
export interface QueueEntry {
  version: 1;
  submissionId: string;
  namespace: string;
  /** `create`: create `objects` in order. `resubmit`: make spark-operator re-submit the SparkApplication `resubmit.name`. */
  action: 'create' | 'resubmit';
  objects: KubeObject[];
  resubmit?: { name: string; marker: string };
  /** What the submission counts for, by quota resource name (`requests.cpu: 2`, `pods: 1`). */
  resources: Record<string, string>;
  priority: number;
  department?: string;
  /** ms since the epoch: FIFO order within a priority. Kept when the same submission is queued again. */
  enqueuedAt: number;
  /** ms since the epoch: past it the entry fails permanently. */
  deadline: number;
  /** Drains that tried and found no room or lost every race. */
  attempts: number;
  /** An earlier create's outcome is unknown (the submitter retried, or an answer was lost): the next drain looks the driver up by name first. */
  mayExist?: boolean;
  lastError?: { class: string; code?: number; message: string };
}

export function queueKey(namespace: string, submissionId: string): string {
  return `${QUEUE_PREFIX}${assertKeySegment(namespace, 'namespace')}/${assertKeySegment(submissionId, 'submission id')}.json`;
}

/** Admission order: higher priority first, then first queued, then submission id (stable). */
export function admissionOrder(a: QueueEntry, b: QueueEntry): number {
  return b.priority - a.priority || a.enqueuedAt - b.enqueuedAt || (a.submissionId < b.submissionId ? -1 : a.submissionId > b.submissionId ? 1 : 0);
}

export async function readEntry(store: ObjectStore, key: string): Promise<QueueEntry | undefined> {
  try {
    return JSON.parse((await getBuffer(store, key)).toString('utf8')) as QueueEntry;
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  }
}

export async function writeEntry(store: ObjectStore, entry: QueueEntry): Promise<void> {
  await store.put(queueKey(entry.namespace, entry.submissionId), JSON.stringify(entry), { contentType: 'application/json' });
}

export async function deleteEntry(store: ObjectStore, entry: Pick<QueueEntry, 'namespace' | 'submissionId'>): Promise<void> {
  await store.delete(queueKey(entry.namespace, entry.submissionId));
}

/**
 * Queues `entry`; when the submission is queued already (a webhook sent twice, an event and a
 * watch for the same failure) it keeps its place: the first enqueue time and deadline stay.
 */
export async function enqueue(store: ObjectStore, entry: QueueEntry): Promise<QueueEntry> {
  const existing = await readEntry(store, queueKey(entry.namespace, entry.submissionId)).catch(() => undefined);
  const merged = existing ? { ...entry, enqueuedAt: existing.enqueuedAt, deadline: Math.min(existing.deadline, entry.deadline), attempts: existing.attempts } : entry;
  await writeEntry(store, merged);
  return merged;
}

/** Namespaces that have queued entries. */
export async function queuedNamespaces(store: ObjectStore): Promise<string[]> {
  const namespaces = new Set<string>();
  for await (const object of listAll(store, QUEUE_PREFIX)) {
    const namespace = object.key.slice(QUEUE_PREFIX.length).split('/')[0];
    if (namespace) namespaces.add(namespace);
  }
  return [...namespaces].sort();
}

/** A queue object that could not be read as an entry. */
export interface BrokenEntry {
  key: string;
  problem: string;
}

/** Every entry of a namespace, in admission order; unreadable objects are returned apart, not thrown. */
export async function readQueue(store: ObjectStore, namespace: string): Promise<{ entries: QueueEntry[]; broken: BrokenEntry[] }> {
  const entries: QueueEntry[] = [];
  const broken: BrokenEntry[] = [];
  for await (const object of listAll(store, `${QUEUE_PREFIX}${assertKeySegment(namespace, 'namespace')}/`)) {
    if (!object.key.endsWith('.json')) continue;
    try {
      const entry = await readEntry(store, object.key);
      if (!entry) continue;
      if (entry.version !== 1 || typeof entry.submissionId !== 'string' || !Array.isArray(entry.objects) || typeof entry.enqueuedAt !== 'number') {
        broken.push({ key: object.key, problem: 'is not a version 1 queue entry' });
        continue;
      }
      entries.push(entry);
    } catch (err) {
      broken.push({ key: object.key, problem: errorMessage(err) });
    }
  }
  return { entries: entries.sort(admissionOrder), broken };
}
