import type { V1Pod } from '@kubernetes/client-node';
import { type AppSpotState, countReclaim } from './app-state.js';
import { type ApplyContext, applyEvictPod } from './apply.js';
import type { EvictionOutcome } from './cluster.js';

/**
 * A spot reclaim of `pod` in `zone`: counted once per pod against its app (past the limit the
 * app's later executors go on-demand) and, on the notice (`SpotToBeReleased`) when configured,
 * the pod is evicted at once through the Eviction API — PodDisruptionBudgets apply, and with
 * `spark.decommission.enabled` Spark migrates the executor's blocks in the grace period instead
 * of losing them to the hard kill three minutes later.
 */
export async function handleReclaim(
  ctx: ApplyContext,
  pod: V1Pod,
  zone: string,
  app: AppSpotState,
  options: { notice: boolean; evict: boolean },
): Promise<{ app: AppSpotState; counted: boolean; eviction?: EvictionOutcome | 'dry-run' }> {
  const { state, counted } = countReclaim(app, pod.metadata?.uid ?? pod.metadata?.name ?? '', zone);
  if (!options.notice || !options.evict || pod.status?.phase === 'Failed' || pod.status?.phase === 'Succeeded') return { app: state, counted };
  const eviction = await applyEvictPod(ctx, pod.metadata?.namespace ?? 'default', pod.metadata?.name ?? '', 'spot instance to be released');
  return { app: state, counted, eviction };
}
