import type { Logger } from 'pino';
import { errorMessage } from '../../shared/errors.js';
import type { ObjectStore } from '../../shared/store/object-store.js';
import { getBuffer } from '../../shared/store/read.js';
import { AUDIT_PREFIX, type AuditRecord } from '../janitor/audit.js';
import type { CleanKind } from '../janitor/kinds.js';
import { queuedNamespaces, readQueue } from '../quota-retry/queue.js';

/** One submission quota-retry has parked. */
export interface ParkedSubmission {
  namespace: string;
  submissionId: string;
  /** ms since the epoch: when it was first parked. */
  enqueuedAt: number;
}

/** A (namespace, app, kind) janitor's last run tried to delete and failed on. */
export interface JanitorFailure {
  namespace: string;
  appId: string;
  kind: CleanKind;
  error: string;
}

/** What the other functions' state in the store says, read once per timer run. */
export interface StoreSignals {
  parked: ParkedSubmission[];
  /** Failures of janitor's newest audit record, and its run id; undefined when there is none. */
  janitor?: { runId: string; failures: JanitorFailure[] };
  /** Parts that could not be read (the rest is still used). */
  problems: string[];
}

/** How many days back the newest janitor audit is looked for: janitor runs every 10 minutes, so yesterday's is plenty. */
const AUDIT_DAYS_BACK = 2;
const DAY_MS = 86_400_000;

/** Every submission in quota-retry's queue (queue/pending/), across namespaces. */
export async function readParked(store: ObjectStore): Promise<ParkedSubmission[]> {
  const parked: ParkedSubmission[] = [];
  for (const namespace of await queuedNamespaces(store)) {
    const { entries } = await readQueue(store, namespace);
    for (const entry of entries) parked.push({ namespace, submissionId: entry.submissionId, enqueuedAt: entry.enqueuedAt });
  }
  return parked;
}

/** The failures janitor's newest audit record (audit/janitor/dt=<day>/<runId>.json) reports, looking back AUDIT_DAYS_BACK days. */
export async function readJanitorFailures(store: ObjectStore, now: number): Promise<StoreSignals['janitor']> {
  for (let back = 0; back < AUDIT_DAYS_BACK; back++) {
    const day = new Date(now - back * DAY_MS).toISOString().slice(0, 10);
    const prefix = `${AUDIT_PREFIX}dt=${day}/`;
    let newest: string | undefined;
    for (let token: string | undefined, pages = 0; pages === 0 || token; pages++) {
      const page = await store.list(prefix, token ? { token } : {});
      for (const object of page.objects) if (object.key.endsWith('.json') && (!newest || object.key > newest)) newest = object.key;
      token = page.nextToken;
    }
    if (!newest) continue;
    const record = JSON.parse((await getBuffer(store, newest)).toString('utf8')) as AuditRecord;
    const failures: JanitorFailure[] = [];
    for (const app of record.apps ?? []) {
      for (const kind of app.kinds ?? []) {
        if (kind.error && kind.kind !== 'sparkapplication') failures.push({ namespace: app.namespace, appId: app.appId, kind: kind.kind, error: kind.error });
      }
    }
    return { runId: record.runId, failures };
  }
  return undefined;
}

/** Reads both; a part that fails is logged and reported, the other still counts. */
export async function readStoreSignals(store: ObjectStore, now: number, logger: Logger): Promise<StoreSignals> {
  const signals: StoreSignals = { parked: [], problems: [] };
  try {
    signals.parked = await readParked(store);
  } catch (err) {
    signals.problems.push(`quota-retry queue: ${errorMessage(err)}`);
  }
  try {
    const janitor = await readJanitorFailures(store, now);
    if (janitor) signals.janitor = janitor;
  } catch (err) {
    signals.problems.push(`janitor audit: ${errorMessage(err)}`);
  }
  for (const problem of signals.problems) logger.warn({ function: 'spark-monitor', problem }, 'a signal in the store could not be read');
  return signals;
}
