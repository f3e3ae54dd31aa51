import type { V1Pod } from '@kubernetes/client-node';
import { type AppSpotState, RECYCLE_WINDOW_MS } from './app-state.js';
import { type ApplyContext, applyDeletePod } from './apply.js';
import type { SpotSettings } from './settings.js';

/** Why a pod was or was not recycled. */
export type RecycleOutcome = 'recycled' | 'dry-run' | 'gone' | 'not-pending' | 'too-young' | 'already-recycled' | 'app-limit';

/**
 * Deletes an executor stuck Pending after a stock-out, so the Spark driver asks for a replacement
 * (which the webhook then routes). Only a Pending executor older than the grace, once per pod, and
 * at most `recyclesPerApp` per app in RECYCLE_WINDOW_MS. The caller has checked it is an executor.
 */
export async function recyclePod(
  ctx: ApplyContext,
  pod: V1Pod,
  app: AppSpotState,
  now: number,
  settings: Pick<SpotSettings, 'recycleGraceMs' | 'recyclesPerApp'>,
): Promise<{ outcome: RecycleOutcome; app: AppSpotState }> {
  const namespace = pod.metadata?.namespace ?? 'default';
  const name = pod.metadata?.name ?? '';
  if (pod.status?.phase !== 'Pending' || pod.metadata?.deletionTimestamp) return { outcome: 'not-pending', app };
  const created = pod.metadata?.creationTimestamp ? new Date(pod.metadata.creationTimestamp).getTime() : now;
  if (now - created < settings.recycleGraceMs) return { outcome: 'too-young', app };
  const id = pod.metadata?.uid ?? name;
  if (app.recycles.some((r) => r.pod === id)) return { outcome: 'already-recycled', app };
  const recent = app.recycles.filter((r) => now - r.at < RECYCLE_WINDOW_MS);
  if (recent.length >= settings.recyclesPerApp) return { outcome: 'app-limit', app };
  const outcome = await applyDeletePod(ctx, namespace, name, pod.metadata?.uid, 'stuck Pending after a spot stock-out');
  if (outcome === 'gone') return { outcome, app };
  return { outcome: outcome === 'deleted' ? 'recycled' : 'dry-run', app: outcome === 'deleted' ? { ...app, recycles: [...recent, { pod: id, at: now }] } : app };
}
