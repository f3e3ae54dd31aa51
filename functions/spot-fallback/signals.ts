import type { V1Pod } from '@kubernetes/client-node';
import { errorMessage } from '../../shared/errors.js';
import { readAppState, writeAppState, type AppSpotState } from './app-state.js';
import { applyPodMetadata, type ApplyContext } from './apply.js';
import { readBreakerFile, writeBreakerFile } from './breaker-store.js';
import { type Signal, signalScope } from './eci-signals.js';
import { locationOf, placementOf, SPARK, SPARKFN, type PodLike } from './placement.js';
import { handleReclaim } from './reclaim.js';
import { recyclePod } from './recycle.js';
import { breakerState, type CapacityType, CLOSED, probeSucceeded, recordSignal } from './spot-breaker.js';
import type { SpotDeps } from './spot-deps.js';
import { spotMetrics } from './spot-metrics.js';

/** What one run did: the summary it returns and logs. */
export interface SpotCounters {
  signals: number;
  breakersOpened: number;
  breakersClosed: number;
  recycled: number;
  reclaims: number;
  evicted: number;
  relabelled: number;
  skipped: number;
  failed: number;
}

export function emptyCounters(): SpotCounters {
  return { signals: 0, breakersOpened: 0, breakersClosed: 0, recycled: 0, reclaims: 0, evicted: 0, relabelled: 0, skipped: 0, failed: 0 };
}

function applyContext(deps: SpotDeps): ApplyContext | undefined {
  return deps.cluster ? { cluster: deps.cluster, logger: deps.logger, dryRun: deps.settings.dryRun } : undefined;
}

/**
 * One signal about one pod: every breaker it concerns records it; then, by kind, the stuck pod is
 * recycled (stock-out), relabelled as on-demand (degraded) or counted and maybe evicted (reclaim).
 * `pod` is the pod as the cluster has it now, when known. Drivers and non-Spark pods are skipped.
 */
export async function processSignal(signal: Signal, pod: V1Pod | undefined, deps: SpotDeps, counters: SpotCounters): Promise<void> {
  const { settings, logger, store, clock } = deps;
  const metrics = spotMetrics(deps.metrics);
  if (!pod) {
    counters.skipped++;
    logger.info({ namespace: signal.namespace, pod: signal.pod, reason: signal.reason }, 'spot signal about a pod that is gone or cannot be looked up; skipped');
    return;
  }
  const placement = placementOf(pod as PodLike, settings);
  if (placement.role !== 'executor') {
    counters.skipped++;
    return;
  }
  const now = clock.now();
  const capacity: CapacityType = placement.spot || signal.kind !== 'stock-out' ? 'spot' : 'on-demand';
  const scope = signalScope(signal, placement, (vswitch) => locationOf(vswitch, settings));
  const podId = pod.metadata?.uid ?? `${signal.namespace}/${signal.pod}`;
  for (const location of scope.locations) {
    for (const spec of scope.specs) {
      const file = await readBreakerFile(store, location, spec);
      const before = file.capacity[capacity] ?? CLOSED;
      const after = recordSignal(before, { at: signal.at, pod: podId, reason: signal.reason }, now, settings);
      file.capacity[capacity] = after;
      await writeBreakerFile(store, file);
      deps.cache.noteBreaker(file);
      if (breakerState(before, now) !== 'open' && breakerState(after, now) === 'open') {
        counters.breakersOpened++;
        logger.warn({ location, spec, capacity, reason: signal.reason, openUntil: new Date(after.openUntil!).toISOString(), backoffStep: after.level }, 'spot breaker opened');
      }
      if (capacity === 'spot') metrics.breaker(location, spec, breakerState(after, now));
    }
  }

  counters.signals++;
  metrics.signals.inc({ reason: signal.reason });

  const ctx = applyContext(deps);
  if (!ctx) return;
  const namespace = pod.metadata?.namespace ?? signal.namespace;
  const appId = placement.appId;
  let app: AppSpotState | undefined = appId ? await readAppState(store, namespace, appId) : undefined;
  const before = app;
  if (signal.kind === 'stock-out' && app) {
    const result = await recyclePod(ctx, pod, app, now, settings);
    app = result.app;
    if (result.outcome === 'recycled' || result.outcome === 'dry-run') {
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
  if (signal.kind === 'reclaim' && app) {
    const zone = placement.zone ?? scope.locations[0]!;
    const result = await handleReclaim(ctx, pod, zone, app, { notice: signal.reason === 'SpotToBeReleased', evict: settings.evictOnReclaim });
    app = result.app;
    if (result.counted) {
      counters.reclaims++;
      metrics.reclaims.inc({ zone });
    }
    if (result.eviction) {
      metrics.evictions.inc({ outcome: result.eviction });
      if (result.eviction === 'evicted' || result.eviction === 'dry-run') counters.evicted++;
    }
  }
  if (app && appId && app !== before) {
    await writeAppState(store, namespace, appId, app);
    deps.cache.noteApp(namespace, appId, app);
  }
}

/**
 * A probe pod is running on spot: the breakers it probed close. Only pods the webhook marked as
 * probes count, because only they ran without the ECI fallback that could have put them on-demand.
 */
export async function processProbeResult(pod: PodLike, deps: SpotDeps, counters: SpotCounters): Promise<void> {
  const probed = pod.metadata?.annotations?.[SPARKFN.probeAnnotation];
  const phase = pod.status?.phase;
  if (!probed || (phase !== 'Running' && phase !== 'Succeeded')) return;
  if (pod.metadata?.labels?.[SPARK.role] !== 'executor') return;
  const now = deps.clock.now();
  const metrics = spotMetrics(deps.metrics);
  for (const id of probed.split(',')) {
    const slash = id.indexOf('/');
    if (slash <= 0) continue;
    const location = id.slice(0, slash);
    const spec = id.slice(slash + 1);
    try {
      const file = await readBreakerFile(deps.store, location, spec);
      const breaker = file.capacity.spot;
      if (!breaker || breakerState(breaker, now) !== 'half-open') continue;
      file.capacity.spot = probeSucceeded();
      await writeBreakerFile(deps.store, file);
      deps.cache.noteBreaker(file);
      counters.breakersClosed++;
      metrics.breaker(location, spec, 'closed');
      deps.logger.info({ location, spec, pod: pod.metadata?.name }, 'spot probe ran: breaker closed');
    } catch (err) {
      counters.failed++;
      deps.logger.error({ location, spec, err: errorMessage(err) }, 'could not close the spot breaker after a probe');
    }
  }
}
