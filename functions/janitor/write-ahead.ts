import { assertKeySegment } from '../../shared/ids.js';
import type { ObjectStore } from '../../shared/store/object-store.js';
import { getBuffer, listAll } from '../../shared/store/read.js';
import type { AppAudit } from './audit.js';
import type { KindOutcome } from './apply.js';

/**
 * A run's write-ahead log: `audit/janitor/wal/<runId>/run.json` when it starts,
 * `…/<namespace>/<appId>.intent.json` before it deletes anything of an app (what it is about to
 * delete, with uids), `…/<namespace>/<appId>.done.json` with the app's outcome after. Each is a
 * fact of its own, written once by its run; the run's audit record rolls them up at the end and
 * the log is deleted. A run that dies leaves its log for the next run to complete (complete-audit.ts).
 */
export const WAL_PREFIX = 'audit/janitor/wal/';

/** What a run said about itself when it started. */
export interface RunStart {
  runId: string;
  startedAt: string;
  dryRun: boolean;
  namespaces: { include: readonly string[]; exclude: readonly string[] };
}

/** One object an app's step is about to delete. */
export interface IntendedObject {
  name: string;
  uid?: string;
}

/** What a run is about to delete of one app, written before the first call. */
export interface AppIntent {
  runId: string;
  audit: Omit<AppAudit, 'kinds' | 'deleted' | 'error'>;
  kinds: { kind: KindOutcome['kind']; objects: IntendedObject[] }[];
}

export function walRunPrefix(runId: string): string {
  return `${WAL_PREFIX}${assertKeySegment(runId, 'janitor run id')}/`;
}

function appKey(runId: string, namespace: string, appId: string, what: 'intent' | 'done'): string {
  return `${walRunPrefix(runId)}${assertKeySegment(namespace, 'namespace')}/${assertKeySegment(appId, 'app id')}.${what}.json`;
}

async function putJson(store: ObjectStore, key: string, value: unknown): Promise<void> {
  await store.put(key, JSON.stringify(value), { contentType: 'application/json' });
}

export async function writeRunStart(store: ObjectStore, start: RunStart): Promise<void> {
  await putJson(store, `${walRunPrefix(start.runId)}run.json`, start);
}

export async function writeIntent(store: ObjectStore, intent: AppIntent): Promise<void> {
  await putJson(store, appKey(intent.runId, intent.audit.namespace, intent.audit.appId, 'intent'), intent);
}

export async function writeDone(store: ObjectStore, runId: string, audit: AppAudit): Promise<void> {
  await putJson(store, appKey(runId, audit.namespace, audit.appId, 'done'), audit);
}

/** A run's log as read back. */
export interface RunLog {
  runId: string;
  start?: RunStart;
  intents: AppIntent[];
  /** `namespace/appId` → outcome. */
  done: Map<string, AppAudit>;
  keys: string[];
}

async function readJson<T>(store: ObjectStore, key: string): Promise<T> {
  return JSON.parse((await getBuffer(store, key)).toString('utf8')) as T;
}

/** Run ids that have a log, with its keys (one list of the log prefix). */
export async function loggedRuns(store: ObjectStore): Promise<Map<string, string[]>> {
  const runs = new Map<string, string[]>();
  for await (const object of listAll(store, WAL_PREFIX)) {
    const runId = object.key.slice(WAL_PREFIX.length).split('/')[0]!;
    const keys = runs.get(runId) ?? [];
    keys.push(object.key);
    runs.set(runId, keys);
  }
  return runs;
}

/** Reads the facts of one run's log. */
export async function readRunLog(store: ObjectStore, runId: string, keys: readonly string[]): Promise<RunLog> {
  const log: RunLog = { runId, intents: [], done: new Map(), keys: [...keys] };
  for (const key of keys) {
    if (key.endsWith('/run.json')) log.start = await readJson<RunStart>(store, key);
    else if (key.endsWith('.intent.json')) log.intents.push(await readJson<AppIntent>(store, key));
    else if (key.endsWith('.done.json')) {
      const audit = await readJson<AppAudit>(store, key);
      log.done.set(`${audit.namespace}/${audit.appId}`, audit);
    }
  }
  return log;
}

/** Deletes a run's log once its record is written (deleting twice is harmless). */
export async function deleteRunLog(store: ObjectStore, keys: readonly string[]): Promise<void> {
  if (keys.length > 0) await store.deleteMany(keys);
}
