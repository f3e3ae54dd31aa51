import { errorMessage } from '../../shared/errors.js';
import { applyDeleteKind, applyDeleteSparkApps, type ApplyContext, type KindOutcome } from './apply.js';
import { judgeApp } from './app-state.js';
import { newRunId, writeAudit, type AppAudit, type AuditRecord, type SkipAudit } from './audit.js';
import { completeAbandonedRuns } from './complete-audit.js';
import type { JanitorDeps } from './deps.js';
import { takeInventory } from './inventory.js';
import { janitorMetrics } from './janitor-metrics.js';
import { CLEAN_KINDS } from './kinds.js';
import { KubeCalls } from './kube-calls.js';
import { planApp, type AppPlan } from './plan.js';
import type { JanitorSettings } from './settings.js';
import { formatTtl } from './ttl.js';
import { deleteRunLog, walRunPrefix, writeDone, writeIntent, writeRunStart, type AppIntent } from './write-ahead.js';

/** What a run did, in counters (logged as one line, returned to the host). */
export interface JanitorSummary {
  runId: string;
  dryRun: boolean;
  /** Where the audit record went; undefined when writing it failed (see errors). */
  auditKey?: string;
  /** Apps found in scope, and what janitor made of them. */
  apps: number;
  running: number;
  finished: number;
  orphaned: number;
  optedOut: number;
  invalid: number;
  /** Apps with something due now; of them cleaned, failed part-way, and left for the next run (limit or deadline). */
  due: number;
  cleaned: number;
  failed: number;
  deferred: number;
  /** Objects deleted (in a dry run: that would be), in all and per kind. */
  deleted: number;
  deletedByKind: Record<KindOutcome['kind'], number>;
  /** Kubernetes API calls made. */
  calls: number;
  /** Resources deleted one by one because deletecollection was refused. */
  fallbacks: string[];
  stoppedEarly: boolean;
  errors: number;
  /** Due apps whose last kind was gone when this run deleted it: another run cleaned them at the same time (counted there). */
  alreadyGone: number;
  /** Runs that died before writing their audit record, whose record this run wrote from their write-ahead log. */
  auditsCompleted: number;
}

/** A run's summary and its full audit record (the CLI prints the latter as a table). */
export interface JanitorReport {
  summary: JanitorSummary;
  audit: AuditRecord;
}

function byDue(a: AppPlan, b: AppPlan): number {
  if (a.dueAt !== b.dueAt) return a.dueAt - b.dueAt;
  const ka = `${a.app.namespace}/${a.app.appId}`;
  const kb = `${b.app.namespace}/${b.app.appId}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/**
 * One janitor run: take stock of Spark objects in scope, judge every app, and for the apps with
 * something due (oldest first, at most `maxApps`) delete it kind by kind, the driver pod last.
 * A failure in one kind stops that app (its driver stays, so the next run finds it again) and the
 * run goes on. When `deps.signal` aborts, no new call starts; the rest waits for the next run.
 * Writes the audit record and logs the summary as one line.
 */
export async function cleanUp(deps: JanitorDeps, settings: JanitorSettings): Promise<JanitorReport> {
  const startedAt = deps.clock.now();
  const runId = newRunId(startedAt);
  const metrics = janitorMetrics(deps.metrics);
  const dryRun = String(settings.dryRun);
  const calls = new KubeCalls(deps.kubeConfig, {
    qps: settings.qps,
    ...(deps.signal ? { signal: deps.signal } : {}),
    onCall: (call) => metrics.apiCalls.inc({ verb: call.verb, resource: call.resource }),
  });
  const ctx: ApplyContext = { calls, dryRun: settings.dryRun, logger: deps.logger, fallbacks: new Map() };
  const deletedByKind = Object.fromEntries([...CLEAN_KINDS, 'sparkapplication'].map((k) => [k, 0])) as JanitorSummary['deletedByKind'];
  const summary: JanitorSummary = {
    runId, dryRun: settings.dryRun, apps: 0, running: 0, finished: 0, orphaned: 0, optedOut: 0, invalid: 0,
    due: 0, cleaned: 0, failed: 0, deferred: 0, deleted: 0, deletedByKind, calls: 0, fallbacks: [], stoppedEarly: false, errors: 0, alreadyGone: 0, auditsCompleted: 0,
  };
  const skipped: SkipAudit[] = [];
  const errors: string[] = [];
  const apps: AppAudit[] = [];

  const namespaces = { include: settings.namespaces, exclude: settings.excludeNamespaces };
  // Write-ahead (not in a dry run, which deletes nothing): every fact this run logs, removed once its record is written.
  const logged: string[] = [];
  if (!settings.dryRun) {
    try {
      await writeRunStart(deps.store, { runId, startedAt: new Date(startedAt).toISOString(), dryRun: false, namespaces });
      logged.push(`${walRunPrefix(runId)}run.json`);
    } catch (err) {
      errors.push(`audit: could not start the write-ahead log: ${errorMessage(err)}`);
      metrics.errors.inc({ stage: 'audit' });
    }
  }
  // Before this run deletes anything, so nothing it deletes is taken for a dead run's.
  const completion = await completeAbandonedRuns(deps.store, calls, runId, startedAt).catch((err: unknown) => ({ completed: [], recovered: 0, problems: [errorMessage(err)] }));
  summary.auditsCompleted = completion.completed.length;
  for (const problem of completion.problems) {
    errors.push(`audit: ${problem}`);
    metrics.errors.inc({ stage: 'audit' });
  }
  if (completion.completed.length > 0) deps.logger.warn({ function: 'janitor', runs: completion.completed, recovered: completion.recovered }, 'completed the audit of runs that died');

  const inventory = await takeInventory(calls, settings);
  for (const problem of inventory.problems) {
    errors.push(`${problem.what}: ${problem.message}`);
    metrics.errors.inc({ stage: 'list' });
  }
  if (!inventory.sparkAppsKnown) skipped.push({ what: 'orphans', reason: 'SparkApplications or pods could not be listed, so apps without a driver pod are not judged orphans this run' });

  const now = deps.clock.now();
  const plans: AppPlan[] = [];
  for (const app of inventory.apps) {
    summary.apps++;
    const verdict = judgeApp(app, settings);
    switch (verdict.state) {
      case 'running': summary.running++; break;
      case 'finished': summary.finished++; break;
      case 'orphaned': summary.orphaned++; break;
      case 'opted-out': summary.optedOut++; break;
      case 'invalid':
        summary.invalid++;
        skipped.push({ what: `app ${app.namespace}/${app.appId}`, reason: verdict.why });
        deps.logger.warn({ function: 'janitor', namespace: app.namespace, appId: app.appId }, `skipped: ${verdict.why}`);
        break;
    }
    const plan = planApp(app, verdict, settings, now, inventory.sparkAppsKnown);
    if (plan) plans.push(plan);
  }
  plans.sort(byDue);
  summary.due = plans.length;

  let pendingDone: Promise<unknown> = Promise.resolve();
  for (const [index, plan] of plans.entries()) {
    if (index >= settings.maxApps || calls.signalAborted()) {
      summary.deferred = plans.length - index;
      summary.stoppedEarly = index < settings.maxApps;
      break;
    }
    const { app, verdict } = plan;
    const audit: AppAudit = {
      namespace: app.namespace,
      appId: app.appId,
      state: verdict.state === 'orphaned' ? 'orphaned' : 'finished',
      ...(verdict.state === 'finished' ? { finishedAt: new Date(verdict.finishedAt).toISOString(), ttl: formatTtl(verdict.ttl), ttlSource: verdict.ttlSource } : {}),
      kinds: [],
      deleted: 0,
    };
    apps.push(audit);
    const record = (outcome: KindOutcome) => {
      audit.kinds.push(outcome);
      audit.deleted += outcome.deleted.length;
      summary.deleted += outcome.deleted.length;
      deletedByKind[outcome.kind] += outcome.deleted.length;
      if (outcome.deleted.length > 0) metrics.objectsDeleted.inc({ kind: outcome.kind, dry_run: dryRun }, outcome.deleted.length);
      if (outcome.error) audit.error = `${outcome.kind}: ${outcome.error}`;
    };
    if (!settings.dryRun) {
      const intent: AppIntent = {
        runId,
        audit: { namespace: audit.namespace, appId: audit.appId, state: audit.state, ...(audit.finishedAt ? { finishedAt: audit.finishedAt, ttl: audit.ttl!, ttlSource: audit.ttlSource! } : {}) },
        kinds: [...plan.steps.map((step) => ({ kind: step.kind, objects: step.objects })), ...(plan.sparkApps.length > 0 ? [{ kind: 'sparkapplication' as const, objects: plan.sparkApps }] : [])].map(({ kind, objects }) => ({
          kind,
          objects: objects.map((o) => ({ name: o.metadata.name, ...(o.metadata.uid ? { uid: o.metadata.uid } : {}) })),
        })),
      };
      try {
        // The previous app's outcome is written while this app's intent is: one store round trip per app, not two.
        await Promise.all([writeIntent(deps.store, intent), pendingDone]);
        logged.push(`${walRunPrefix(runId)}${app.namespace}/${app.appId}.intent.json`);
      } catch (err) {
        // Nothing is deleted that could not be written ahead: the app waits for the next run.
        audit.error = `could not write ahead what would be deleted: ${errorMessage(err)}`;
        summary.failed++;
        errors.push(`app ${app.namespace}/${app.appId}: ${audit.error}`);
        metrics.errors.inc({ stage: 'audit' });
        continue;
      }
    }
    try {
      for (const step of plan.steps) {
        if (calls.signalAborted()) {
          audit.error = 'the run reached its deadline before this app was done';
          break;
        }
        record(await applyDeleteKind(ctx, app.namespace, app.appId, step.kind, step.objects));
        // The driver goes last and only after the rest: an app half done is still found next run.
        if (audit.error) break;
      }
      if (!audit.error && plan.sparkApps.length > 0 && !calls.signalAborted()) record(await applyDeleteSparkApps(ctx, app.namespace, app.appId, plan.sparkApps));
    } catch (err) {
      audit.error = errorMessage(err);
    }
    if (!settings.dryRun) {
      // Lost only with the run: then the next run finds the intent and completes this app's audit from the cluster.
      pendingDone = writeDone(deps.store, runId, audit).then(
        () => logged.push(`${walRunPrefix(runId)}${app.namespace}/${app.appId}.done.json`),
        (err: unknown) => deps.logger.warn({ function: 'janitor', appId: app.appId, err: errorMessage(err) }, 'could not log an app as done; its intent stays for the record'),
      );
    }
    if (audit.error) {
      summary.failed++;
      errors.push(`app ${app.namespace}/${app.appId}: ${audit.error}`);
      metrics.errors.inc({ stage: 'delete' });
      if (calls.signalAborted()) summary.stoppedEarly = true;
    } else if (finishedByAnother(audit)) {
      // A run at the same time made the last call first: that run counts the app, so counts add up across runs.
      summary.alreadyGone++;
    } else {
      summary.cleaned++;
      metrics.appsCleaned.inc({ state: audit.state, dry_run: dryRun });
    }
  }
  await pendingDone;
  summary.calls = calls.calls;
  summary.fallbacks = [...ctx.fallbacks.keys()].sort();

  const audit: AuditRecord = {
    runId,
    startedAt: new Date(startedAt).toISOString(),
    finishedAt: new Date(deps.clock.now()).toISOString(),
    dryRun: settings.dryRun,
    namespaces,
    apps,
    skipped,
    errors,
    fallbacks: Object.fromEntries(ctx.fallbacks),
    counts: {},
  };
  summary.errors = errors.length;
  try {
    summary.auditKey = await writeAudit(deps.store, { ...audit, counts: countsOf(summary) }, startedAt);
    // The record holds everything the log did; a failure here only leaves the log for a later run to tidy.
    await deleteRunLog(deps.store, logged).catch((err: unknown) => deps.logger.warn({ function: 'janitor', err: errorMessage(err) }, 'could not remove the write-ahead log'));
  } catch (err) {
    // What was deleted is deleted: the summary still says so, and the missing audit is an error.
    summary.errors++;
    errors.push(`audit: ${errorMessage(err)}`);
    metrics.errors.inc({ stage: 'audit' });
  }
  audit.counts = countsOf(summary);
  const level = summary.errors > 0 ? 'warn' : 'info';
  deps.logger[level]({ function: 'janitor', summary }, summary.dryRun ? 'janitor dry run done' : 'janitor run done');
  return { summary, audit };
}

/** The app's last call deleted and kept nothing: the apiserver gave its objects to another run's call. */
function finishedByAnother(audit: AppAudit): boolean {
  const last = audit.kinds[audit.kinds.length - 1];
  return !!last && last.method !== 'dry-run' && last.deleted.length === 0 && last.kept.length === 0;
}

function countsOf(summary: JanitorSummary): Record<string, number> {
  const { runId: _r, dryRun: _d, auditKey: _a, deletedByKind, fallbacks: _f, stoppedEarly: _s, ...numbers } = summary;
  return { ...numbers, ...Object.fromEntries(Object.entries(deletedByKind).map(([k, v]) => [`deleted.${k}`, v])) };
}
