import type { V1Pod } from '@kubernetes/client-node';
import { type ApplyContext, applyEvictPod } from './apply.js';
import type { EvictionOutcome } from './cluster.js';

/**
 * A spot reclaim notice (`SpotToBeReleased`) for `pod`: when configured, the pod is evicted at
 * once through the Eviction API — PodDisruptionBudgets apply, and with `spark.decommission.enabled`
 * Spark migrates the executor's blocks in the grace period instead of losing them to the hard kill
 * three minutes later. The reclaim itself is counted as a fact by the caller.
 */
export async function evictOnNotice(ctx: ApplyContext, pod: V1Pod, options: { notice: boolean; evict: boolean }): Promise<EvictionOutcome | 'dry-run' | undefined> {
  if (!options.notice || !options.evict || pod.status?.phase === 'Failed' || pod.status?.phase === 'Succeeded') return undefined;
  return applyEvictPod(ctx, pod.metadata?.namespace ?? 'default', pod.metadata?.name ?? '', 'spot instance to be released');
}
