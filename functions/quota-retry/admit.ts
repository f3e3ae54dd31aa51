import { errorMessage } from '../../shared/errors.js';
import type { ClassifiedApiError } from '../../shared/k8s/classify-api-error.js';
import { backoffDelay } from './backoff.js';
import { decide } from './classify.js';
import { describeObject, readObject } from './kube-objects.js';
import { CREATED_BY_ANNOTATION, SUBMISSION_ANNOTATION, type KubeObject } from './manifest.js';
import type { ClusterContext } from './run-context.js';

/** How creating a submission's objects ended. */
export type AdmitOutcome =
  | { kind: 'created'; alreadyCreated: boolean }
  /** 403 exceeded quota, and the object does not exist: wait in the queue. */
  | { kind: 'no-room'; error: ClassifiedApiError }
  /** Every try lost a race or failed transiently, or the deadline is near: try again later. */
  | { kind: 'later'; error?: ClassifiedApiError }
  | { kind: 'permanent'; reason: string; message: string };

type CreateOutcome = AdmitOutcome | { kind: 'created'; alreadyCreated: boolean; object: KubeObject };

interface ContainerLike {
  name?: string;
  image?: string;
}

function containerImages(object: KubeObject): string {
  const spec = (object.spec ?? {}) as { containers?: ContainerLike[]; initContainers?: ContainerLike[] };
  return JSON.stringify([...(spec.initContainers ?? []), ...(spec.containers ?? [])].map((c) => [c.name, c.image]));
}

/**
 * Whether an existing object is this submission's: it carries our annotation, or (created by
 * the submitter's own earlier attempt, before quota-retry saw it) it has no submission annotation
 * and the manifest's labels and, for a pod, the same containers and images.
 */
export function isOurs(existing: KubeObject, wanted: KubeObject, submissionId: string): boolean {
  const annotation = existing.metadata?.annotations?.[SUBMISSION_ANNOTATION];
  if (annotation !== undefined) return annotation === submissionId;
  const labels = existing.metadata?.labels ?? {};
  const sameLabels = Object.entries(wanted.metadata?.labels ?? {}).every(([k, v]) => labels[k] === v);
  return sameLabels && (wanted.kind !== 'Pod' || containerImages(existing) === containerImages(wanted));
}

/** Looks the object up; 'ours' when it exists with our annotation, 'theirs' when someone else's holds the name. */
async function lookUp(ctx: ClusterContext, object: KubeObject, submissionId: string): Promise<{ found: 'ours'; object: KubeObject } | { found: 'theirs' | 'none' }> {
  ctx.summary.existenceChecks += 1;
  const m = object.metadata!;
  const existing = await readObject(ctx.cluster, object.kind!, m.namespace!, m.name!);
  if (!existing) return { found: 'none' };
  return isOurs(existing, object, submissionId) ? { found: 'ours', object: existing } : { found: 'theirs' };
}

/** Whether this invocation's create made `existing` (its answer may have been lost on the way). */
function createdByThisRun(ctx: ClusterContext, existing: KubeObject): boolean {
  return existing.metadata?.annotations?.[CREATED_BY_ANNOTATION] === ctx.runId;
}

function found(ctx: ClusterContext, existing: KubeObject): CreateOutcome {
  return { kind: 'created', alreadyCreated: !createdByThisRun(ctx, existing), object: existing };
}

/** The object as this invocation creates it: marked with the run, so the one create that wins names its run. */
function marked(ctx: ClusterContext, object: KubeObject): KubeObject {
  const metadata = object.metadata ?? {};
  return { ...object, metadata: { ...metadata, annotations: { ...(metadata.annotations ?? {}), [CREATED_BY_ANNOTATION]: ctx.runId } } };
}

/**
 * Whether a submission's driver (its last object) exists already as ours: for an entry whose
 * earlier create may have succeeded unseen. While the quota is full such an entry would never
 * fit (its own driver takes the room), so a drain asks by name first.
 */
export async function alreadyCreated(ctx: ClusterContext, objects: readonly KubeObject[], submissionId: string): Promise<boolean> {
  const driver = objects[objects.length - 1];
  if (!driver) return false;
  return (await lookUp(ctx, driver, submissionId)).found === 'ours';
}

function nameTaken(object: KubeObject): AdmitOutcome {
  const m = object.metadata!;
  return { kind: 'permanent', reason: 'name-taken', message: `A ${object.kind} named ${m.namespace}/${m.name} exists and was not created for this submission.` };
}

/**
 * Creates one object exactly once. The name is the submission's, so the apiserver's name
 * uniqueness decides between racing creators. A 409 on the quota object is a definite "not
 * created": retry after full-jitter backoff. After an answer that may hide a success (429, 5xx,
 * a reset connection) the next try looks the object up first. A 403 exceeded quota is also
 * checked by name: kube-apiserver runs quota admission before the name check, so a create whose
 * earlier attempt succeeded gets 403, not AlreadyExists, while the quota is full.
 */
async function createOnce(ctx: ClusterContext, object: KubeObject, submissionId: string): Promise<CreateOutcome> {
  const { settings, deps, summary } = ctx;
  const max = settings.backoff.maxAttempts;
  let uncertain = false;
  let last: ClassifiedApiError | undefined;
  for (let attempt = 1; attempt <= max; attempt++) {
    if (uncertain) {
      const seen = await lookUp(ctx, object, submissionId).catch(() => undefined);
      if (seen?.found === 'ours') return found(ctx, seen.object);
      if (seen?.found === 'theirs') return nameTaken(object);
    }
    try {
      return { kind: 'created', alreadyCreated: false, object: await ctx.apply.create(marked(ctx, object)) };
    } catch (err) {
      const verdict = decide(err);
      last = verdict.error;
      switch (verdict.decision) {
        case 'done': {
          const seen = await lookUp(ctx, object, submissionId).catch(() => undefined);
          if (seen?.found === 'ours') return found(ctx, seen.object);
          if (seen?.found === 'theirs') return nameTaken(object);
          uncertain = true;
          break;
        }
        case 'queue': {
          const seen = await lookUp(ctx, object, submissionId).catch(() => undefined);
          if (seen?.found === 'ours') return found(ctx, seen.object);
          if (seen?.found === 'theirs') return nameTaken(object);
          return { kind: 'no-room', error: verdict.error };
        }
        case 'permanent':
          return { kind: 'permanent', reason: verdict.error.class, message: verdict.error.message };
        case 'backoff':
          uncertain = true;
          break;
        case 'retry-now':
          break;
      }
      if (attempt === max) break;
      summary.retries[verdict.error.class] = (summary.retries[verdict.error.class] ?? 0) + 1;
      ctx.metrics.retries.inc({ class: verdict.error.class });
      const wait = backoffDelay(settings.backoff, attempt, ctx.random, verdict.error.retryAfterSeconds);
      deps.logger.debug({ function: 'quota-retry', object: describeObject(object.kind!, object.metadata!.namespace!, object.metadata!.name!), class: verdict.error.class, attempt, waitMs: wait }, 'create failed; retrying');
      if (!(await ctx.sleep(wait, deps.signal))) return { kind: 'later', error: verdict.error };
    }
  }
  return last ? { kind: 'later', error: last } : { kind: 'later' };
}

/**
 * Creates a submission's objects in order (ConfigMaps and Services first, the driver last), then
 * points the dependents' ownerReferences at the driver pod, as spark-submit does, so they go
 * when it goes. Objects created before a failure stay: the next try finds them by name.
 */
export async function admitObjects(ctx: ClusterContext, objects: readonly KubeObject[], submissionId: string): Promise<AdmitOutcome> {
  const created: KubeObject[] = [];
  let alreadyCreated = false;
  for (const object of objects) {
    if (ctx.deps.signal?.aborted) return { kind: 'later' };
    const outcome = await createOnce(ctx, object, submissionId);
    if (outcome.kind !== 'created') return outcome;
    // The driver decides: a submission was "already created" when its driver already existed.
    alreadyCreated = outcome.alreadyCreated;
    created.push('object' in outcome ? outcome.object : object);
  }
  const driver = created[created.length - 1]!;
  if (driver.kind === 'Pod' && created.length > 1 && !ctx.apply.dryRun) await ownDependents(ctx, driver, created.slice(0, -1));
  return { kind: 'created', alreadyCreated };
}

async function ownDependents(ctx: ClusterContext, driver: KubeObject, dependents: readonly KubeObject[]): Promise<void> {
  const uid = driver.metadata?.uid;
  if (!uid) return;
  const owner = { apiVersion: 'v1', kind: 'Pod', name: driver.metadata!.name!, uid, controller: true };
  for (const dependent of dependents) {
    const m = dependent.metadata!;
    const refs = (m.ownerReferences ?? []) as { uid?: string }[];
    if (refs.some((r) => r.uid === uid)) continue;
    try {
      await ctx.apply.patch(dependent.kind!, m.namespace!, m.name!, { metadata: { ownerReferences: [...refs, owner] } });
    } catch (err) {
      // The driver runs either way; without the reference only garbage collection misses the dependent (janitor sweeps it).
      ctx.deps.logger.warn({ function: 'quota-retry', object: describeObject(dependent.kind!, m.namespace!, m.name!), err: errorMessage(err) }, 'could not set ownerReferences');
    }
  }
}
