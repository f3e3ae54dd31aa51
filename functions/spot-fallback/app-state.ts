import { NotFoundError } from '../../shared/errors.js';
import { assertKeySegment } from '../../shared/ids.js';
import type { ObjectStore } from '../../shared/store/object-store.js';
import { getBuffer } from '../../shared/store/read.js';

/** Where per-app spot history lives. */
export const APP_STATE_PREFIX = 'state/spot-fallback/apps/';
/** Recycles count against an app's limit for 10 minutes. */
export const RECYCLE_WINDOW_MS = 10 * 60_000;
/** Pod uids remembered per app so a reclaim is counted once; a Spark app rarely loses more. */
const MAX_REMEMBERED_PODS = 500;

/** One app's spot history: reclaims per zone (and which pods), recent recycles. */
export interface AppSpotState {
  reclaims: Record<string, number>;
  reclaimedPods: string[];
  recycles: { pod: string; at: number }[];
}

export const EMPTY_APP_STATE: AppSpotState = Object.freeze({ reclaims: {}, reclaimedPods: [], recycles: [] }) as AppSpotState;

/** `state/spot-fallback/apps/<namespace>/<appId>.json`. */
export function appStateKey(namespace: string, appId: string): string {
  return `${APP_STATE_PREFIX}${assertKeySegment(namespace, 'namespace')}/${assertKeySegment(appId, 'app id')}.json`;
}

export async function readAppState(store: ObjectStore, namespace: string, appId: string): Promise<AppSpotState> {
  try {
    const parsed = JSON.parse((await getBuffer(store, appStateKey(namespace, appId))).toString('utf8')) as Partial<AppSpotState>;
    return { reclaims: parsed.reclaims ?? {}, reclaimedPods: parsed.reclaimedPods ?? [], recycles: parsed.recycles ?? [] };
  } catch (err) {
    if (err instanceof NotFoundError || err instanceof SyntaxError) return structuredClone(EMPTY_APP_STATE);
    throw err;
  }
}

export async function writeAppState(store: ObjectStore, namespace: string, appId: string, state: AppSpotState): Promise<void> {
  const trimmed = { ...state, reclaimedPods: state.reclaimedPods.slice(-MAX_REMEMBERED_PODS) };
  await store.put(appStateKey(namespace, appId), JSON.stringify(trimmed), { contentType: 'application/json' });
}

/** Reclaims of the app in every zone. */
export function totalReclaims(state: AppSpotState): number {
  return Object.values(state.reclaims).reduce((a, b) => a + b, 0);
}

/** Counts a reclaim of `podUid` in `zone`, once per pod. */
export function countReclaim(state: AppSpotState, podUid: string, zone: string): { state: AppSpotState; counted: boolean } {
  if (state.reclaimedPods.includes(podUid)) return { state, counted: false };
  return {
    state: { ...state, reclaims: { ...state.reclaims, [zone]: (state.reclaims[zone] ?? 0) + 1 }, reclaimedPods: [...state.reclaimedPods, podUid] },
    counted: true,
  };
}
