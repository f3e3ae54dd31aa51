import { assertKeySegment } from '../../shared/ids.js';
import { APPS_PREFIX } from './facts.js';

/** Recycles count against an app's limit for 10 minutes. */
export const RECYCLE_WINDOW_MS = 10 * 60_000;

/** One app's spot history, as its facts add up (spot-state.ts): reclaims per zone (and which pods), recycles. */
export interface AppSpotState {
  reclaims: Record<string, number>;
  reclaimedPods: string[];
  recycles: { pod: string; at: number }[];
}

export const EMPTY_APP_STATE: AppSpotState = Object.freeze({ reclaims: {}, reclaimedPods: [], recycles: [] }) as AppSpotState;

/** `state/spot-fallback/apps/<namespace>/<appId>.json`: the previous layout's whole-app object, read (never written) for one release. */
export function legacyAppStateKey(namespace: string, appId: string): string {
  return `${APPS_PREFIX}${assertKeySegment(namespace, 'namespace')}/${assertKeySegment(appId, 'app id')}.json`;
}

/** Reclaims of the app in every zone. */
export function totalReclaims(state: AppSpotState): number {
  return Object.values(state.reclaims).reduce((a, b) => a + b, 0);
}
