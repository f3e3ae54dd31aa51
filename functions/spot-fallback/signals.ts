import type { V1Pod } from '@kubernetes/client-node';
import { errorMessage } from '../../shared/errors.js';
import { applyPodMetadata, type ApplyContext } from './apply.js';
import { breakerId } from './breaker-store.js';
import { type Signal, signalScope } from './eci-signals.js';
import { podKey, putProbeRun, putReclaim, putRecycle, putSignal, type SignalFact } from './facts.js';
import { locationOf, placementOf, SPARK, SPARKFN, type PodLike } from './placement.js';
import { evictOnNotice } from './reclaim.js';
import { recycleCandidate, recyclePod } from './recycle.js';
import { breakerState, type CapacityType } from './spot-breaker.js';
import type { SpotDeps } from './spot-deps.js';
import { spotMetrics } from './spot-metrics.js';
import type { SpotState } from './spot-state.js';

/** Why an event or pod change was skipped; each is counted on its own. */
export type SkipReason =
  | 'not-a-spot-signal'
  | 'not-about-a-pod'
  | 'not-a-stock-out'
  | 'no-cluster'
  | 'pod-gone'
  | 'not-an-executor'
  | 'not-a-pod'
  | 'pod-deleted';

/** What one run did: the summary it returns and logs. */
export interface SpotCounters {
  /** Signals recorded (a redelivered event is recorded again, onto the same fact). */
  signals: number;
  /** Breakers this run saw open or close; the store's facts are the record, this is what this instance observed. */
  breakersOpened: number;
  breakersClosed: number;
  recycled: number;
  /** Reclaims recorded that this instance had not seen before. */
  reclaims: number;
  evicted: number;
  relabelled: number;
  /** Events and pod changes skipped, in all… */
  skipped: number;
  /** …and by reason. */
  skippedBy: Partial<Record<SkipReason, number>>;
  failed: number;
}

export function emptyCounters(): SpotCounters {
  return { signals: 0, breakersOpened: 0, breakersClosed: 0, recycled: 0, reclaims: 0, evicted: 0, relabelled: 0, skipped: 0, skippedBy: {}, failed: 0 };
}

/** Counts one skip under its reason. */
export function countSkip(counters: SpotCounters, reason: SkipReason): void {
  counters.skipped++;
  counters.skippedBy[reason] = (counters.skippedBy[reason] ?? 0) + 1;
}

function applyContext(deps: SpotDeps): ApplyContext | undefined {
  return deps.cluster ? { cluster: deps.cluster, logger: deps.logger, dryRun: deps.settings.dryRun } : undefined;
}

const opens = (state: SpotState | undefined, id: string, capacity: CapacityType) => state?.opens.get(`${id}/${capacity}`) ?? 0;

/**
 * One signal about one pod, written as one fact (facts.ts) that every breaker it concerns derives
 * its state from; then, by kind, the stuck pod is recycled (stock-out), relabelled as on-demand
 * (degraded) or counted against its app and maybe evicted (reclaim), each recorded as its own fact.
 * At most two store requests: the signal, and a recycle's or a reclaim's fact (state reads go
 * through the cache: one listing per refresh). `pod` is the pod as the cluster has it now, when known.
 * Drivers and non-Spark pods are skipped.
 */
export async function processSignal(signal: Signal, pod: V1Pod | undefined, deps: SpotDeps, counters: SpotCounters): Promise<void> {
  const { settings, logger, store, clock } = deps;
  const metrics = spotMetrics(deps.metrics);
  if (!pod) {
    countSkip(counters, 'pod-gone');
    logger.info({ namespace: signal.namespace, pod: signal.pod, reason: signal.reason }, 'spot signal about a pod that is gone; skipped');
    return;
  }
  const placement = placementOf(pod as PodLike, settings);
  if (placement.role !== 'executor') {
    countSkip(counters, 'not-an-executor');
    return;
  }
  const now = clock.now();
  const namespace = pod.metadata?.namespace ?? signal.namespace;
  const capacity: CapacityType = placement.spot || signal.kind !== 'stock-out' ? 'spot' : 'on-demand';
  const scope = signalScope(signal, placement, (vswitch) => locationOf(vswitch, settings));
  const podId = podKey(namespace, pod.metadata?.name ?? signal.pod, pod.metadata?.uid);
  const ids = scope.locations.flatMap((location) => scope.specs.map((spec) => breakerId(location, spec)));
  const fact: SignalFact = { kind: signal.kind, reason: signal.reason, pod: podId, at: signal.at, capacity, breakers: ids };

  const before = await deps.cache.state(deps);
  const key = await putSignal(store, fact);
  const after = deps.cache.note(key, fact);
  for (const id of ids) {
    if (opens(after, id, capacity) > opens(before, id, capacity)) {
      counters.breakersOpened++;
      const breaker = after?.breakers.get(id)?.capacity[capacity];
      logger.warn({ breaker: id, capacity, reason: signal.reason, openUntil: breaker?.openUntil && new Date(breaker.openUntil).toISOString(), backoffStep: breaker?.level }, 'spot breaker opened');
    }
    const spot = after?.breakers.get(id)?.capacity.spot;
    if (capacity === 'spot' && spot) {
      const { location, spec } = after!.breakers.get(id)!;
      metrics.breaker(location, spec, breakerState(spot, now));
    }
  }
  counters.signals++;
  metrics.signals.inc({ reason: signal.reason });

  const ctx = applyContext(deps);
  if (!ctx) return;
  const appId = placement.appId;
  if (signal.kind === 'stock-out' && appId && !recycleCandidate(pod, now, settings)) {
    // The cache's view of the app's recycles: the limit is a soft bound anyway (two invocations at
    // once may both see room), and the delete itself is once per pod by its uid precondition.
    const recycles = after?.apps.get(`${namespace}/${appId}`)?.recycles ?? [];
    const outcome = await recyclePod(ctx, pod, podId, recycles, now, settings);
    if (outcome === 'recycled') deps.cache.note(await putRecycle(store, namespace, appId, podId, now), '');
    if (outcome === 'recycled' || outcome === 'dry-run') {
      counters.recycled++;
      metrics.recycles.inc();
    }
  }
  if (signal.kind === 'degraded') {
    await applyPodMetadata(ctx, namespace, signal.pod, {
      labels: { [SPARKFN.capacityLabel]: 'on-demand-fallback' },
      annotations: { [SPARKFN.reasonAnnotation]: `ECI created it on-demand: ${signal.message}` },
    });
    counters.relabelled++;
  }
  if (signal.kind === 'reclaim' && appId) {
    const zone = placement.zone ?? scope.locations[0]!;
    const seen = after?.apps.get(`${namespace}/${appId}`)?.reclaimedPods.includes(podId) ?? false;
    deps.cache.note(await putReclaim(store, namespace, appId, zone, podId), '');
    if (!seen) counters.reclaims++;
    metrics.reclaims.inc({ zone });
    const eviction = await evictOnNotice(ctx, pod, { notice: signal.reason === 'SpotToBeReleased', evict: settings.evictOnReclaim });
    if (eviction) {
      metrics.evictions.inc({ outcome: eviction });
      if (eviction === 'evicted' || eviction === 'dry-run') counters.evicted++;
    }
  }
}

/** When a pod started running: its Ready condition's time, else its start time, else `now`. */
function runningSince(pod: V1Pod, now: number): number {
  const ready = pod.status?.conditions?.find((c) => c.type === 'Ready' && c.status === 'True')?.lastTransitionTime;
  const since = ready ?? pod.status?.startTime;
  const at = since ? new Date(since).getTime() : NaN;
  return Number.isFinite(at) ? at : now;
}

/**
 * A probe pod is running on spot: one fact (keyed by the pod) closes the breakers it probed that
 * were half-open when it started. Only pods the webhook marked as probes count, because only they
 * ran without the ECI fallback that could have put them on-demand.
 */
export async function processProbeResult(pod: V1Pod, deps: SpotDeps, counters: SpotCounters): Promise<void> {
  const probed = pod.metadata?.annotations?.[SPARKFN.probeAnnotation];
  const phase = pod.status?.phase;
  if (!probed || (phase !== 'Running' && phase !== 'Succeeded')) return;
  if (pod.metadata?.labels?.[SPARK.role] !== 'executor') return;
  const breakers = probed.split(',').filter((id) => id.indexOf('/') > 0);
  if (breakers.length === 0) return;
  const now = deps.clock.now();
  const metrics = spotMetrics(deps.metrics);
  const fact = { pod: podKey(pod.metadata?.namespace ?? 'default', pod.metadata?.name ?? '', pod.metadata?.uid), at: runningSince(pod, now), breakers };
  try {
    const before = await deps.cache.state(deps);
    const after = deps.cache.note(await putProbeRun(deps.store, fact), fact);
    for (const id of breakers) {
      const was = before.breakers.get(id)?.capacity.spot;
      const is = after?.breakers.get(id)?.capacity.spot;
      if (!was || was.openUntil === undefined || !is || is.openUntil !== undefined) continue;
      counters.breakersClosed++;
      const { location, spec } = before.breakers.get(id)!;
      metrics.breaker(location, spec, 'closed');
      deps.logger.info({ breaker: id, pod: pod.metadata?.name }, 'spot probe ran: breaker closed');
    }
  } catch (err) {
    counters.failed++;
    deps.logger.error({ breakers, err: errorMessage(err) }, 'could not record the spot probe run');
  }
}
