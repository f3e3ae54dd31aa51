import type { V1Pod } from '@kubernetes/client-node';
import { RECYCLE_WINDOW_MS } from './app-state.js';
import { type ApplyContext, applyDeletePod } from './apply.js';
import type { SpotSettings } from './settings.js';

/** Why a pod was or was not recycled. */
export type RecycleOutcome = 'recycled' | 'dry-run' | 'gone' | 'not-pending' | 'too-young' | 'already-recycled' | 'app-limit';

/** Whether a pod could be recycled at all, before the app's recycles are looked up. */
export function recycleCandidate(pod: V1Pod, now: number, settings: Pick<SpotSettings, 'recycleGraceMs'>): RecycleOutcome | undefined {
  if (pod.status?.phase !== 'Pending' || pod.metadata?.deletionTimestamp) return 'not-pending';
  const created = pod.metadata?.creationTimestamp ? new Date(pod.metadata.creationTimestamp).getTime() : now;
  if (now - created < settings.recycleGraceMs) return 'too-young';
  return undefined;
}

/**
 * Deletes an executor stuck Pending after a stock-out, so the Spark driver asks for a replacement
 * (which the webhook then routes). Only a Pending executor older than the grace, once per pod (the
 * delete carries the pod's uid as a precondition: a second delete finds it gone), and at most
 * `recyclesPerApp` per app in RECYCLE_WINDOW_MS as far as the app's recycle facts show. The
 * caller has checked it is an executor and records a `recycled` outcome as a fact.
 */
export async function recyclePod(
  ctx: ApplyContext,
  pod: V1Pod,
  podId: string,
  recycles: readonly { pod: string; at: number }[],
  now: number,
  settings: Pick<SpotSettings, 'recycleGraceMs' | 'recyclesPerApp'>,
): Promise<RecycleOutcome> {
  const early = recycleCandidate(pod, now, settings);
  if (early) return early;
  if (recycles.some((r) => r.pod === podId)) return 'already-recycled';
  if (recycles.filter((r) => now - r.at < RECYCLE_WINDOW_MS).length >= settings.recyclesPerApp) return 'app-limit';
  const outcome = await applyDeletePod(ctx, pod.metadata?.namespace ?? 'default', pod.metadata?.name ?? '', pod.metadata?.uid, 'stuck Pending after a spot stock-out');
  if (outcome === 'gone') return 'gone';
  return outcome === 'deleted' ? 'recycled' : 'dry-run';
}
