import type { V1DeleteOptions } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { KubeClients } from '../../shared/k8s/client.js';
import { DeadlineError, errorMessage } from '../../shared/errors.js';
import { classifyApiError } from '../../shared/k8s/classify-api-error.js';
import { keeps } from './app-state.js';
import type { KubeItem } from './inventory.js';
import { KIND_SPECS, SPARK_APP_RESOURCE, type CleanKind, type KindSpec } from './kinds.js';
import type { KubeCalls } from './kube-calls.js';

/** How a kind's objects went (or would go); `answer-lost`: a run died in the call, and a later run found them gone. */
export type DeleteMethod = 'deletecollection' | 'per-object' | 'dry-run' | 'answer-lost';

/** What happened to one kind of one app: the audit's unit. */
export interface KindOutcome {
  kind: CleanKind | 'sparkapplication';
  method: DeleteMethod;
  /** Names deleted (or, in a dry run, that would be). */
  deleted: string[];
  /** Names left because they say `sparkfn.io/keep: "true"` (or carry a bad keep value). */
  kept: string[];
  error?: string;
}

/** What the apply helpers share for one run. */
export interface ApplyContext {
  calls: KubeCalls;
  dryRun: boolean;
  logger: Logger;
  /** Resources whose deletecollection was refused (405 or RBAC 403) this run: deleted one by one from then on. */
  fallbacks: Map<string, string>;
}

/** Background: dependents are left to the garbage collector instead of holding the call (kube-janitor does the same). */
const PROPAGATION = 'Background';

/** One object's delete through the typed API of its resource, with its uid as a precondition. */
function deleteOne(clients: KubeClients, resource: string, namespace: string, name: string, uid: string | undefined): Promise<unknown> {
  const body: V1DeleteOptions = { propagationPolicy: PROPAGATION, ...(uid ? { preconditions: { uid } } : {}) };
  switch (resource) {
    case 'pods':
      return clients.core.deleteNamespacedPod({ name, namespace, body });
    case 'configmaps':
      return clients.core.deleteNamespacedConfigMap({ name, namespace, body });
    case 'services':
      return clients.core.deleteNamespacedService({ name, namespace, body });
    case 'ingresses.networking.k8s.io':
      return clients.networking.deleteNamespacedIngress({ name, namespace, body });
    case SPARK_APP_RESOURCE:
      return clients.custom.deleteNamespacedCustomObject({ group: 'sparkoperator.k8s.io', version: 'v1beta2', plural: 'sparkapplications', namespace, name, body });
    default:
      throw new Error(`janitor does not delete ${resource}`);
  }
}

type ListAnswer = { items?: KubeItem[] };

function refusedCollection(err: unknown): string | undefined {
  const verdict = classifyApiError(err);
  if (verdict.code === 405) return '405 MethodNotAllowed';
  if (verdict.class === 'forbidden' && verdict.code === 403) return '403 Forbidden (RBAC)';
  return undefined;
}

function isKept(item: KubeItem, spec: KindSpec, logger: Logger): boolean {
  try {
    return keeps(item, spec.singular);
  } catch (err) {
    // A bad opt-out value is not guessed at: the object stays and the problem is reported.
    logger.warn({ function: 'janitor', object: `${item.metadata.namespace}/${item.metadata.name}` }, errorMessage(err));
    return true;
  }
}

/**
 * Deletes one kind of one app: one `deletecollection` with the app's label selector; per object
 * when an object of the kind opts out or when the apiserver refuses deletecollection for the
 * resource (405 before Services had it, or RBAC 403), which is logged once per run. In a dry run
 * it logs and returns what the inventory saw, deleting nothing.
 */
export async function applyDeleteKind(ctx: ApplyContext, namespace: string, appId: string, kind: CleanKind, objects: KubeItem[]): Promise<KindOutcome> {
  const spec = KIND_SPECS[kind];
  const kept = objects.filter((o) => isKept(o, spec, ctx.logger));
  const doomed = objects.filter((o) => !kept.includes(o));
  const keptNames = kept.map((o) => o.metadata.name);
  if (ctx.dryRun) {
    if (doomed.length > 0) {
      ctx.logger.info({ function: 'janitor', appId }, `dry-run: would delete ${spec.singular} ${doomed.map((o) => `${namespace}/${o.metadata.name}`).join(', ')}`);
    }
    return { kind, method: 'dry-run', deleted: doomed.map((o) => o.metadata.name).sort(), kept: keptNames };
  }
  if (kept.length === 0 && !ctx.fallbacks.has(spec.resource)) {
    try {
      const answer = await ctx.calls.request<ListAnswer>(
        { verb: 'deletecollection', resource: spec.resource },
        // DeleteOptions as query parameters, which kube-apiserver decodes like a body.
        { method: 'DELETE', path: spec.collectionPath(namespace), query: { labelSelector: spec.selector(appId), propagationPolicy: PROPAGATION } },
      );
      return { kind, method: 'deletecollection', deleted: (answer.items ?? []).map((o) => o.metadata.name).sort(), kept: [] };
    } catch (err) {
      const refused = refusedCollection(err);
      if (!refused) return { kind, method: 'deletecollection', deleted: [], kept: [], error: classifyApiError(err).message };
      ctx.fallbacks.set(spec.resource, refused);
      ctx.logger.warn(
        { function: 'janitor', resource: spec.resource, answer: refused },
        `deletecollection of ${spec.resource} is refused (${refused}): deleting them one by one for the rest of this run`,
      );
    }
  }
  return applyDeleteObjects(ctx, spec.resource, namespace, kind, doomed, keptNames);
}

/**
 * Deletes objects one by one, each with its uid as a precondition (a same-named object created
 * since the inventory is not touched). Gone already (404) or replaced (409) is not an error.
 */
export async function applyDeleteObjects(
  ctx: ApplyContext,
  resource: string,
  namespace: string,
  kind: KindOutcome['kind'],
  objects: KubeItem[],
  kept: string[],
): Promise<KindOutcome> {
  const outcome: KindOutcome = { kind, method: 'per-object', deleted: [], kept };
  for (const object of objects) {
    if (ctx.calls.signalAborted()) {
      outcome.error = new DeadlineError().message;
      break;
    }
    try {
      await ctx.calls.typed({ verb: 'delete', resource }, (clients) => deleteOne(clients, resource, namespace, object.metadata.name, object.metadata.uid));
      outcome.deleted.push(object.metadata.name);
    } catch (err) {
      const verdict = classifyApiError(err);
      if (verdict.class === 'not-found' || verdict.code === 409) continue;
      outcome.error = verdict.message;
      break;
    }
  }
  outcome.deleted.sort();
  return outcome;
}

/** Deletes an app's SparkApplications by name (they carry no app-id label to select by). */
export async function applyDeleteSparkApps(ctx: ApplyContext, namespace: string, appId: string, sparkApps: KubeItem[]): Promise<KindOutcome> {
  const spec = { singular: 'sparkapplication' } as KindSpec;
  const kept = sparkApps.filter((o) => isKept(o, spec, ctx.logger)).map((o) => o.metadata.name);
  const doomed = sparkApps.filter((o) => !kept.includes(o.metadata.name));
  if (ctx.dryRun) {
    if (doomed.length > 0) {
      ctx.logger.info({ function: 'janitor', appId }, `dry-run: would delete sparkapplication ${doomed.map((o) => `${namespace}/${o.metadata.name}`).join(', ')}`);
    }
    return { kind: 'sparkapplication', method: 'dry-run', deleted: doomed.map((o) => o.metadata.name).sort(), kept };
  }
  return applyDeleteObjects(ctx, SPARK_APP_RESOURCE, namespace, 'sparkapplication', doomed, kept);
}
