import { errorMessage } from '../../shared/errors.js';
import type { ObjectStore } from '../../shared/store/object-store.js';
import type { KindOutcome } from './apply.js';
import { auditKey, runStartedAt, writeAudit, type AppAudit, type AuditRecord } from './audit.js';
import { listAll as listItems } from './inventory.js';
import { KIND_SPECS, sparkAppPath, SPARK_APP_RESOURCE } from './kinds.js';
import type { KubeCalls } from './kube-calls.js';
import { deleteRunLog, loggedRuns, readRunLog, type AppIntent, type RunLog } from './write-ahead.js';

/**
 * A run whose log is older than this has died (killed, out of memory, timed out): no janitor
 * invocation runs this long (serverless.yml gives it 300 s; Lambda stops any at 15 min).
 */
export const ABANDONED_AFTER_MS = 30 * 60_000;

/** What completing dead runs' audits came to. */
export interface Completion {
  /** Run ids whose record this run wrote (or found written) and whose log it removed. */
  completed: string[];
  /** Objects those records attribute to the dead runs that their own logs did not already say. */
  recovered: number;
  problems: string[];
}

async function stillThere(calls: KubeCalls, namespace: string, appId: string, kind: KindOutcome['kind']): Promise<Set<string>> {
  const items =
    kind === 'sparkapplication'
      ? await listItems(calls, SPARK_APP_RESOURCE, sparkAppPath(namespace))
      : await listItems(calls, KIND_SPECS[kind].resource, KIND_SPECS[kind].collectionPath(namespace), KIND_SPECS[kind].selector(appId));
  return new Set(items.map((o) => o.metadata.uid ?? o.metadata.name));
}

/**
 * An app the dead run was working on when it died: what it meant to delete and is gone now was
 * deleted by it (the call was made, its answer never recorded). Runs that overlap on one app
 * could blur this; `sparkfn serve` runs janitor under a Lease and timers do not overlap a 300 s run.
 */
async function recover(calls: KubeCalls, intent: AppIntent): Promise<AppAudit> {
  const audit: AppAudit = { ...intent.audit, kinds: [], deleted: 0 };
  for (const step of intent.kinds) {
    const present = await stillThere(calls, intent.audit.namespace, intent.audit.appId, step.kind);
    const gone = step.objects.filter((o) => !present.has(o.uid ?? o.name)).map((o) => o.name).sort();
    audit.kinds.push({ kind: step.kind, method: 'answer-lost', deleted: gone, kept: [] });
    audit.deleted += gone.length;
  }
  audit.error = 'the run died while cleaning this app; what it meant to delete and was gone when the next run looked is listed';
  return audit;
}

function countsOf(apps: readonly AppAudit[]): Record<string, number> {
  const counts: Record<string, number> = { apps: apps.length, deleted: 0 };
  for (const app of apps) {
    for (const k of app.kinds) {
      counts.deleted! += k.deleted.length;
      counts[`deleted.${k.kind}`] = (counts[`deleted.${k.kind}`] ?? 0) + k.deleted.length;
    }
  }
  return counts;
}

async function completeOne(store: ObjectStore, calls: KubeCalls, log: RunLog, byRunId: string, nowMs: number): Promise<number> {
  const startedAtMs = log.start ? Date.parse(log.start.startedAt) : runStartedAt(log.runId);
  const key = auditKey(log.runId, startedAtMs);
  if (await store.head(key)) return 0; // it wrote its record and died before removing its log
  const apps: AppAudit[] = [];
  let recovered = 0;
  for (const intent of log.intents) {
    const done = log.done.get(`${intent.audit.namespace}/${intent.audit.appId}`);
    if (done) {
      apps.push(done);
      continue;
    }
    const audit = await recover(calls, intent);
    recovered += audit.deleted;
    apps.push(audit);
  }
  const record: AuditRecord = {
    runId: log.runId,
    startedAt: new Date(startedAtMs).toISOString(),
    finishedAt: new Date(nowMs).toISOString(),
    dryRun: log.start?.dryRun ?? false,
    namespaces: log.start?.namespaces ?? { include: [], exclude: [] },
    apps,
    skipped: [],
    errors: [`the run stopped before writing its audit record; run ${byRunId} completed it from its write-ahead log`],
    fallbacks: {},
    counts: countsOf(apps),
    completedBy: byRunId,
  };
  await writeAudit(store, record, startedAtMs);
  return recovered;
}

/**
 * Finds runs that died with their log in place and writes their audit records from it: apps
 * they finished from their `done` facts, the app they were in the middle of from its intent and
 * what is gone from the cluster now. Runs before this run deletes anything, so what it deletes
 * itself is never attributed to a dead run. Two runs completing the same dead run write the same
 * key with what they both read; a record already written is kept.
 */
export async function completeAbandonedRuns(store: ObjectStore, calls: KubeCalls, byRunId: string, nowMs: number): Promise<Completion> {
  const completion: Completion = { completed: [], recovered: 0, problems: [] };
  for (const [runId, keys] of await loggedRuns(store)) {
    const startedAt = runStartedAt(runId);
    if (Number.isNaN(startedAt)) {
      completion.problems.push(`${runId} under the write-ahead log is no run id; left alone`);
      continue;
    }
    if (runId === byRunId || nowMs - startedAt < ABANDONED_AFTER_MS) continue;
    try {
      const log = await readRunLog(store, runId, keys);
      completion.recovered += await completeOne(store, calls, log, byRunId, nowMs);
      await deleteRunLog(store, keys);
      completion.completed.push(runId);
    } catch (err) {
      completion.problems.push(`completing the audit of run ${runId}: ${errorMessage(err)}`);
    }
  }
  return completion;
}
