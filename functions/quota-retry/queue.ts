import { errorMessage } from '../../shared/errors.js';
import { assertKeySegment } from '../../shared/ids.js';
import { NotFoundError } from '../../shared/errors.js';
import type { ObjectStore } from '../../shared/store/object-store.js';
import { getBuffer, listAll } from '../../shared/store/read.js';
import type { KubeObject } from './manifest.js';

/**
 * Where parked submissions live. Each is a folder of facts, never rewritten by a read-modify-write:
 * `queue/pending/<namespace>/<submissionId>/<enqueuedAtMs>.json` one per arrival (the entry as it came;
 * the earliest keeps the submission's place), `…/may-exist` (an earlier create's outcome is unknown)
 * and `…/last-error.json` (the last failed try). The single object `queue/pending/<namespace>/<submissionId>.json`
 * of the previous release is read as one arrival until it is admitted or expires.
 */
export const QUEUE_PREFIX = 'queue/pending/';

/** Marker object: some create of this submission may have succeeded unseen (its content is ignored). */
const MAY_EXIST = 'may-exist';
const LAST_ERROR = 'last-error.json';
/** Arrival keys sort by time: ms since the epoch, zero-padded to the width of year 2286's. */
const ARRIVAL_DIGITS = 13;

/** A parked submission. The arrivals of one submission merge into one entry when the queue is read. */
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
  /** ms since the epoch: FIFO order within a priority; the earliest arrival's. */
  enqueuedAt: number;
  /** ms since the epoch: past it the entry fails permanently; the earliest of the arrivals'. */
  deadline: number;
  /** How many times it arrived (webhook re-sends, event and watch for one failure). */
  arrivals?: number;
  /** An earlier create's outcome is unknown (the submitter retried, or an answer was lost): the next drain looks the driver up by name first. */
  mayExist?: boolean;
  lastError?: { class: string; code?: number; message: string };
  /** Every store key that holds a fact of this submission, deleted together when it leaves the queue. */
  keys?: string[];
}

function submissionPrefix(namespace: string, submissionId: string): string {
  return `${QUEUE_PREFIX}${assertKeySegment(namespace, 'namespace')}/${assertKeySegment(submissionId, 'submission id')}/`;
}

/** The key of one arrival: a redelivery at the same instant overwrites, a later one adds a fact. */
export function arrivalKey(namespace: string, submissionId: string, enqueuedAt: number): string {
  return `${submissionPrefix(namespace, submissionId)}${String(Math.max(0, Math.trunc(enqueuedAt))).padStart(ARRIVAL_DIGITS, '0')}.json`;
}

/** The previous release's one-object-per-submission key, still read (see QUEUE_PREFIX). */
export function legacyQueueKey(namespace: string, submissionId: string): string {
  return `${QUEUE_PREFIX}${assertKeySegment(namespace, 'namespace')}/${assertKeySegment(submissionId, 'submission id')}.json`;
}

/** Admission order: higher priority first, then first queued, then submission id (stable). */
export function admissionOrder(a: QueueEntry, b: QueueEntry): number {
  return b.priority - a.priority || a.enqueuedAt - b.enqueuedAt || (a.submissionId < b.submissionId ? -1 : a.submissionId > b.submissionId ? 1 : 0);
}

async function readJson<T>(store: ObjectStore, key: string): Promise<T | undefined> {
  try {
    return JSON.parse((await getBuffer(store, key)).toString('utf8')) as T;
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  }
}

/**
 * Queues one arrival of `entry`: a blind write of its own fact, so concurrent deliveries never
 * overwrite each other's information; the submission keeps the place of its earliest arrival.
 */
export async function enqueue(store: ObjectStore, entry: QueueEntry): Promise<void> {
  const { keys: _keys, arrivals: _arrivals, lastError: _lastError, ...fact } = entry;
  await store.put(arrivalKey(entry.namespace, entry.submissionId, entry.enqueuedAt), JSON.stringify(fact), { contentType: 'application/json' });
}

/** Records that a create of this submission may have succeeded unseen (idempotent). */
export async function markMayExist(store: ObjectStore, entry: Pick<QueueEntry, 'namespace' | 'submissionId'>): Promise<void> {
  await store.put(submissionPrefix(entry.namespace, entry.submissionId) + MAY_EXIST, '', { contentType: 'text/plain' });
}

/** Records the last failed try (the last writer wins, which is what "last" means). */
export async function recordLastError(store: ObjectStore, entry: Pick<QueueEntry, 'namespace' | 'submissionId'>, error: NonNullable<QueueEntry['lastError']>): Promise<void> {
  await store.put(submissionPrefix(entry.namespace, entry.submissionId) + LAST_ERROR, JSON.stringify(error), { contentType: 'application/json' });
}

/** Removes a submission from the queue: every fact the drain read (a later arrival stays and finds it admitted). */
export async function deleteEntry(store: ObjectStore, entry: Pick<QueueEntry, 'namespace' | 'submissionId' | 'keys'>): Promise<void> {
  const keys = entry.keys ?? [legacyQueueKey(entry.namespace, entry.submissionId)];
  if (keys.length > 0) await store.deleteMany(keys);
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

function isEntry(value: unknown): value is QueueEntry {
  const entry = value as QueueEntry | undefined;
  return !!entry && entry.version === 1 && typeof entry.submissionId === 'string' && Array.isArray(entry.objects) && typeof entry.enqueuedAt === 'number';
}

/** Folds one arrival into the submission's entry: earliest place, earliest deadline, any doubt. */
function merge(into: QueueEntry | undefined, arrival: QueueEntry): QueueEntry {
  if (!into) return { ...arrival, arrivals: 1 };
  const earliest = arrival.enqueuedAt < into.enqueuedAt ? arrival : into;
  return {
    ...earliest,
    enqueuedAt: Math.min(into.enqueuedAt, arrival.enqueuedAt),
    deadline: Math.min(into.deadline, arrival.deadline),
    arrivals: (into.arrivals ?? 1) + 1,
    ...(into.mayExist || arrival.mayExist ? { mayExist: true } : {}),
    keys: into.keys ?? [],
  };
}

/**
 * Every entry of a namespace, in admission order, derived from its facts (both layouts);
 * unreadable objects are returned apart, not thrown.
 */
export async function readQueue(store: ObjectStore, namespace: string): Promise<{ entries: QueueEntry[]; broken: BrokenEntry[] }> {
  const prefix = `${QUEUE_PREFIX}${assertKeySegment(namespace, 'namespace')}/`;
  const bySubmission = new Map<string, string[]>();
  for await (const object of listAll(store, prefix)) {
    const rest = object.key.slice(prefix.length);
    const slash = rest.indexOf('/');
    const submissionId = slash < 0 ? rest.replace(/\.json$/, '') : rest.slice(0, slash);
    const keys = bySubmission.get(submissionId) ?? [];
    keys.push(object.key);
    bySubmission.set(submissionId, keys);
  }
  const entries: QueueEntry[] = [];
  const broken: BrokenEntry[] = [];
  for (const [, keys] of bySubmission) {
    let entry: QueueEntry | undefined;
    let mayExist = false;
    let lastError: QueueEntry['lastError'];
    const facts: string[] = [];
    for (const key of keys) {
      const name = key.slice(key.lastIndexOf('/') + 1);
      try {
        if (name === MAY_EXIST) mayExist = true;
        else if (name === LAST_ERROR) lastError = await readJson(store, key);
        else if (key.endsWith('.json')) {
          const arrival = await readJson<unknown>(store, key);
          if (arrival === undefined) continue;
          if (!isEntry(arrival)) {
            broken.push({ key, problem: 'is not a version 1 queue entry' });
            continue;
          }
          entry = merge(entry, arrival);
        } else continue;
        facts.push(key);
      } catch (err) {
        broken.push({ key, problem: errorMessage(err) });
      }
    }
    if (!entry) {
      // Only markers are left (the arrivals went with an admission that raced a late marker): tidy them up.
      if (facts.length > 0) await store.deleteMany(facts);
      continue;
    }
    entries.push({ ...entry, ...(mayExist ? { mayExist: true } : {}), ...(lastError ? { lastError } : {}), keys: facts });
  }
  return { entries: entries.sort(admissionOrder), broken };
}
