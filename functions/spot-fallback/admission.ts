import * as z from 'zod';
import { errorMessage, InvalidInputError } from '../../shared/errors.js';
import type { HttpInput, HttpResult } from '../../shared/platform/trigger.js';
import { totalReclaims } from './app-state.js';
import { buildPatch, type PatchOp } from './json-patch.js';
import { locationsOf, placementOf, type Placement, type PodLike } from './placement.js';
import { routePod, type Routing } from './routing.js';
import { type BreakerFile, breakerId } from './breaker-store.js';
import { breakerState } from './spot-breaker.js';
import { claimProbes, releaseAbsentProbes } from './probe-claims.js';
import type { SpotState } from './spot-state.js';
import type { SpotDeps } from './spot-deps.js';
import { spotMetrics } from './spot-metrics.js';

/** The webhook's path under `sparkfn serve` (deploy/ points the MutatingWebhookConfiguration here). */
export const ADMISSION_PATH = '/admission/spot-fallback';

/** The part of an admission.k8s.io/v1 AdmissionReview request we read. */
const admissionReviewSchema = z.looseObject({
  apiVersion: z.literal('admission.k8s.io/v1', { message: 'apiVersion must be admission.k8s.io/v1' }),
  kind: z.literal('AdmissionReview'),
  request: z.looseObject({
    uid: z.string().min(1),
    kind: z.looseObject({ group: z.string().optional(), version: z.string().optional(), kind: z.string() }).optional(),
    operation: z.string().optional(),
    namespace: z.string().optional(),
    object: z.looseObject({ metadata: z.looseObject({}).optional() }).nullish(),
  }),
});

export type AdmissionRequest = z.infer<typeof admissionReviewSchema>['request'];

/** What the webhook decided for one request (for tests and logs). */
export interface AdmissionOutcome {
  uid: string;
  routing?: Routing;
  patch: PatchOp[];
  failOpen?: string;
}

/** The AdmissionReview answer: allowed always, with a JSONPatch when there is one. */
export function admissionResponse(uid: string, patch: readonly PatchOp[]): HttpResult {
  const response: Record<string, unknown> = { uid, allowed: true };
  if (patch.length > 0) {
    response.patchType = 'JSONPatch';
    response.patch = Buffer.from(JSON.stringify(patch)).toString('base64');
  }
  return {
    status: 200,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response }),
  };
}

/** Parses an AdmissionReview body; InvalidInputError (400) when it is not one. */
export function parseAdmissionReview(body: Buffer): AdmissionRequest {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    throw new InvalidInputError('The body is not JSON; the admission webhook takes an admission.k8s.io/v1 AdmissionReview.', 'malformed-admission-review');
  }
  const parsed = admissionReviewSchema.safeParse(json);
  if (!parsed.success) {
    const problem = parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');
    throw new InvalidInputError(`The body is not an admission.k8s.io/v1 AdmissionReview (${problem}).`, 'malformed-admission-review');
  }
  return parsed.data.request;
}

/**
 * The breakers as this pod sees them: a probe slot it holds itself is free to it, so a review the
 * apiserver sends again (a timeout, a retry) gets the same probe answer.
 */
function ownProbesFree(state: SpotState, namespace: string, name: string): ReadonlyMap<string, BreakerFile> {
  let out: Map<string, BreakerFile> | undefined;
  for (const [id, slots] of state.probes) {
    const holder = slots.holder?.fact;
    const file = state.breakers.get(id);
    if (!holder || holder.namespace !== namespace || holder.name !== name || !file?.capacity.spot) continue;
    out ??= new Map(state.breakers);
    const { probe: _mine, ...spot } = file.capacity.spot;
    out.set(id, { ...file, capacity: { ...file.capacity, spot } });
  }
  return out ?? state.breakers;
}

/** Every half-open spot breaker among the pod's locations and specs, held or not: the order claims go in. */
function halfOpenBreakers(placement: Placement, state: SpotState, now: number): string[] {
  return locationsOf(placement).flatMap((location) =>
    placement.specs.map((spec) => breakerId(location, spec)).filter((id) => {
      const spot = state.breakers.get(id)?.capacity.spot;
      return spot !== undefined && breakerState(spot, now) === 'half-open';
    }),
  );
}

/**
 * Decides the patch for one request. May throw or hang: `admit` bounds it. State comes from the
 * cache (no store request on a warm instance); a probe is claimed before it is answered, with a
 * create-only write per breaker (one holder where the store enforces it, see README "State under
 * concurrency"), and only for a named pod, so that a claim whose pod never appears can be released.
 */
export async function decide(request: AdmissionRequest, deps: SpotDeps): Promise<{ routing: Routing; patch: PatchOp[] }> {
  const pod = (request.object ?? {}) as PodLike;
  if (request.operation !== 'CREATE' || request.kind?.kind !== 'Pod') return { routing: { action: 'none', why: 'not-executor' }, patch: [] };
  const placement = placementOf(pod, deps.settings);
  if (placement.role !== 'executor' || !placement.spot) return { routing: routePod(placement, new Map(), 0, 0, deps.settings), patch: [] };
  const namespace = request.namespace ?? pod.metadata?.namespace ?? 'default';
  const name = pod.metadata?.name;
  let state = await deps.cache.state(deps);
  if (await releaseAbsentProbes(placement, state, deps)) state = deps.cache.current() ?? state;
  const app = placement.appId ? state.apps.get(`${namespace}/${placement.appId}`) : undefined;
  const reclaims = app ? totalReclaims(app) : 0;
  const now = deps.clock.now();
  const routing = routePod(placement, name ? ownProbesFree(state, namespace, name) : state.breakers, reclaims, now, deps.settings);
  if (routing.action !== 'probe' || deps.settings.dryRun) return { routing, patch: buildPatch(pod, routing, deps.settings) };
  if (name) {
    const won = await claimProbes(halfOpenBreakers(placement, state, now), state, { namespace, name, review: request.uid }, deps);
    if (won.length > 0) {
      const probe = { ...routing, breakers: won };
      return { routing: probe, patch: buildPatch(pod, probe, deps.settings) };
    }
  }
  const taken: Routing = { action: 'on-demand', why: name ? 'spot probe taken by another pod after a stock-out' : 'spot probe needs a named pod after a stock-out' };
  return { routing: taken, patch: buildPatch(pod, taken, deps.settings) };
}

/**
 * The webhook: answers every AdmissionReview it can read with `allowed: true`, patched when a spot
 * executor must be routed. Never blocks a pod: an internal error, or no decision within
 * `admissionTimeoutMs`, answers allowed with no patch (and counts a fail-open). Dry-run answers
 * without a patch and logs the one it would have sent.
 */
export async function admit(input: HttpInput, deps: SpotDeps): Promise<{ result: HttpResult; outcome: AdmissionOutcome }> {
  const started = performance.now();
  const metrics = spotMetrics(deps.metrics);
  const request = parseAdmissionReview(input.body);
  const failOpen = (reason: string, err?: unknown) => {
    metrics.failOpen.inc({ reason });
    deps.logger.warn({ uid: request.uid, reason, ...(err ? { err: errorMessage(err) } : {}) }, 'spot admission failed open: pod allowed unchanged');
    return { result: admissionResponse(request.uid, []), outcome: { uid: request.uid, patch: [], failOpen: reason } };
  };
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), deps.settings.admissionTimeoutMs);
  });
  try {
    const decision = decide(request, deps);
    // Past the timeout nobody awaits it any more; its failure must not become an unhandled rejection.
    decision.catch(() => undefined);
    const decided = await Promise.race([decision, timeout]);
    if (decided === 'timeout') return failOpen('timeout');
    metrics.fallbacks.inc({ action: decided.routing.action });
    if (decided.patch.length > 0 && deps.settings.dryRun) {
      deps.logger.info({ uid: request.uid, routing: decided.routing, patch: decided.patch }, `dry-run: would patch pod ${request.namespace ?? ''}/${(request.object as PodLike | undefined)?.metadata?.name ?? ''}`);
      return { result: admissionResponse(request.uid, []), outcome: { uid: request.uid, routing: decided.routing, patch: [] } };
    }
    return { result: admissionResponse(request.uid, decided.patch), outcome: { uid: request.uid, routing: decided.routing, patch: decided.patch } };
  } catch (err) {
    return failOpen('error', err);
  } finally {
    clearTimeout(timer);
    metrics.latency.observe((performance.now() - started) / 1000);
  }
}
