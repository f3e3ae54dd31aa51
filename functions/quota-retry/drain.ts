import { errorMessage } from '../../shared/errors.js';
import { admitObjects, alreadyCreated, type AdmitOutcome } from './admit.js';
import { giveUp } from './give-up.js';
import { DEPARTMENT_LABEL } from './manifest.js';
import { recordAdmitted, wasAdmitted } from './admitted.js';
import { deleteEntry, markMayExist, queuedNamespaces, readQueue, recordLastError, type QueueEntry } from './queue.js';
import { chargeQuotas, fitsQuotas, quotaRooms, usageFromJson, type QuotaRoom } from './resources.js';
import { capFor } from './settings.js';
import type { ClusterContext } from './run-context.js';
import { resubmit } from './spark-application.js';

const NO_DEPARTMENT = '';

/** Running (quota-charged) drivers per department label value in the namespace: one list call. */
async function runningByDepartment(ctx: ClusterContext, namespace: string): Promise<Map<string, number>> {
  const pods = await ctx.cluster.core.listNamespacedPod({ namespace, labelSelector: DEPARTMENT_LABEL });
  const counts = new Map<string, number>();
  for (const pod of pods.items) {
    const phase = pod.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') continue;
    const department = pod.metadata?.labels?.[DEPARTMENT_LABEL];
    if (department) counts.set(department, (counts.get(department) ?? 0) + 1);
  }
  return counts;
}

async function readRooms(ctx: ClusterContext, namespace: string): Promise<QuotaRoom[]> {
  ctx.summary.quotaReads += 1;
  const list = await ctx.cluster.core.listNamespacedResourceQuota({ namespace });
  return quotaRooms(list.items as never);
}

function publishQueueGauges(ctx: ClusterContext, namespace: string, before: readonly QueueEntry[], after: readonly QueueEntry[]): void {
  const now = ctx.deps.clock.now();
  const departments = new Set(before.map((e) => e.department ?? NO_DEPARTMENT));
  for (const department of departments) {
    const left = after.filter((e) => (e.department ?? NO_DEPARTMENT) === department);
    const labels = { namespace, department };
    ctx.metrics.queueDepth.set(labels, left.length);
    ctx.metrics.queueAge.set(labels, left.length ? (now - Math.min(...left.map((e) => e.enqueuedAt))) / 1000 : 0);
  }
}

/**
 * Books an admission: the admitted fact first, then the entry leaves the queue (neither in
 * dry-run). `admitted` counts only what this invocation created, so that the counts of
 * concurrent drains and webhooks add up to the drivers created; finding it created is `alreadyCreated`.
 */
async function admitted(ctx: ClusterContext, entry: QueueEntry, alreadyCreated: boolean, now: number): Promise<void> {
  const { namespace } = entry;
  // Counted before the store writes: the driver exists whether or not they succeed (a failed one leaves the entry for the next drain).
  if (alreadyCreated) ctx.summary.alreadyCreated += 1;
  else {
    ctx.summary.admitted += 1;
    ctx.metrics.admissions.inc({ namespace, department: entry.department ?? NO_DEPARTMENT });
  }
  if (!ctx.settings.dryRun) {
    await recordAdmitted(ctx.deps.store, entry);
    await deleteEntry(ctx.deps.store, entry);
  }
  ctx.deps.logger.info({ function: 'quota-retry', namespace, submissionId: entry.submissionId, department: entry.department, waitedMs: now - entry.enqueuedAt, alreadyCreated }, 'admitted');
}

async function admit(ctx: ClusterContext, entry: QueueEntry): Promise<AdmitOutcome> {
  return entry.action === 'resubmit' ? resubmit(ctx, entry) : admitObjects(ctx, entry.objects, entry.submissionId);
}

/**
 * One drain of one namespace: expired entries are dead-lettered; the rest are admitted in
 * priority order, then FIFO, while the namespace's ResourceQuotas (`status.hard` − `status.used`,
 * read once and charged locally as entries are admitted) have room. An entry whose department is
 * at its cap is passed over (so one team's backlog cannot hold the others back); an entry that
 * does not fit stops the drain unless backfill is on. An entry is deleted only after its objects
 * exist. Two drains running at once cannot create anything twice: names are the submission's and
 * the apiserver refuses a second create of a name.
 */
export async function drainNamespace(ctx: ClusterContext, namespace: string): Promise<void> {
  const { deps, settings, summary } = ctx;
  const { store, logger } = deps;
  const { entries, broken } = await readQueue(store, namespace);
  for (const bad of broken) {
    // queue/pending/<namespace>/<submissionId>.json (previous layout) or …/<submissionId>/<fact>.
    const submissionId = bad.key.split('/')[3]!.replace(/\.json$/, '');
    await giveUp(ctx, { submissionId, namespace, reason: 'corrupt-entry', message: `The queue object ${bad.key} ${bad.problem}.`, submission: { key: bad.key } });
    await store.delete(bad.key);
  }
  const now = deps.clock.now();
  const live: QueueEntry[] = [];
  for (const entry of entries) {
    if (now <= entry.deadline) {
      live.push(entry);
      continue;
    }
    const waited = Math.round((now - entry.enqueuedAt) / 1000);
    await giveUp(ctx, {
      submissionId: entry.submissionId,
      namespace,
      reason: 'expired',
      message: `Waited ${waited} s for quota and passed its deadline ${new Date(entry.deadline).toISOString()}${entry.lastError ? `; last error: ${entry.lastError.message}` : ''}.`,
      ...(entry.department ? { department: entry.department } : {}),
      submission: entry,
    });
    await deleteEntry(store, entry);
  }
  if (live.length === 0) {
    publishQueueGauges(ctx, namespace, entries, []);
    return;
  }
  summary.namespaces += 1;
  const rooms = await readRooms(ctx, namespace);
  const capped = live.some((e) => capFor(settings, e.department) !== undefined);
  const running = capped ? await runningByDepartment(ctx, namespace) : new Map<string, number>();
  const remaining: QueueEntry[] = [];
  let stopped = false;
  for (const entry of live) {
    if (stopped || deps.signal?.aborted) {
      remaining.push(entry);
      continue;
    }
    const cap = capFor(settings, entry.department);
    if (cap !== undefined && (running.get(entry.department!) ?? 0) >= cap) {
      summary.capped += 1;
      remaining.push(entry);
      continue;
    }
    const usage = usageFromJson(entry.resources);
    if (await wasAdmitted(store, namespace, entry.submissionId)) {
      // A late or replayed arrival of a submission admitted before: its driver may be gone by now, so create nothing.
      await admitted(ctx, entry, true, now);
      continue;
    }
    if (entry.mayExist && entry.action === 'create') {
      if (await alreadyCreated(ctx, entry.objects, entry.submissionId).catch(() => false)) {
        // Its driver exists and is already counted in the quota's `used`: do not charge it again.
        await admitted(ctx, entry, true, now);
        continue;
      }
    }
    if (!fitsQuotas(usage, rooms).fits) {
      remaining.push(entry);
      if (!settings.backfill) stopped = true;
      continue;
    }
    const outcome = await admit(ctx, entry);
    switch (outcome.kind) {
      case 'created':
        if (settings.dryRun) remaining.push(entry);
        await admitted(ctx, entry, outcome.alreadyCreated, now);
        chargeQuotas(usage, rooms);
        if (entry.department) running.set(entry.department, (running.get(entry.department) ?? 0) + 1);
        break;
      case 'no-room':
      case 'later': {
        const error = outcome.error;
        // Facts of their own, not a rewrite of the entry another drain or webhook may be writing too.
        if (error && error.class !== 'quota-conflict' && error.class !== 'quota-exceeded') await markMayExist(store, entry);
        if (error) await recordLastError(store, entry, { class: error.class, ...(error.code ? { code: error.code } : {}), message: error.message });
        remaining.push(entry);
        // Someone else took the room (no-room), or the quota object stays contended (later): keep FIFO.
        if (outcome.kind === 'later' || !settings.backfill) stopped = true;
        break;
      }
      case 'permanent':
        await giveUp(ctx, {
          submissionId: entry.submissionId,
          namespace,
          reason: outcome.reason,
          message: outcome.message,
          ...(entry.department ? { department: entry.department } : {}),
          submission: entry,
        });
        await deleteEntry(store, entry);
        break;
    }
  }
  summary.waiting += remaining.length;
  publishQueueGauges(ctx, namespace, entries, remaining);
}

/** Drains every namespace that has queued entries; a namespace that fails is logged and the rest go on. */
export async function drainAll(ctx: ClusterContext, only?: readonly string[]): Promise<void> {
  const namespaces = only ?? (await queuedNamespaces(ctx.deps.store));
  for (const namespace of namespaces) {
    if (ctx.deps.signal?.aborted) break;
    try {
      await drainNamespace(ctx, namespace);
    } catch (err) {
      ctx.deps.logger.error({ function: 'quota-retry', namespace, err: errorMessage(err) }, 'drain of a namespace failed; its entries stay queued');
    }
  }
}
