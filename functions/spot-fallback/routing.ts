import type { BreakerFile } from './breaker-store.js';
import { breakerId } from './breaker-store.js';
import type { Candidate, Placement } from './placement.js';
import { type Breaker, breakerState, probeAvailable } from './spot-breaker.js';
import type { SpotSettings } from './settings.js';

/** How a location stands for one pod: usable for spot, usable by a probe only, or open. */
export type LocationHealth = 'healthy' | 'probe' | 'open';

/** What admission does with a pod. */
export type Routing =
  | { action: 'none'; why: 'not-executor' | 'not-spot' }
  | { action: 'spot'; why: 'all-closed' }
  | { action: 'reorder'; why: string; order: Candidate[] }
  | { action: 'probe'; why: string; order: Candidate[]; breakers: string[] }
  | { action: 'on-demand'; why: string };

function spotBreaker(files: ReadonlyMap<string, BreakerFile>, location: string, spec: string): Breaker | undefined {
  return files.get(breakerId(location, spec))?.capacity.spot;
}

/**
 * A location is healthy for a pod when any of its specs has a closed spot breaker there (ECI tries
 * every spec it is given); a probe location when none is closed but one is half-open with its
 * probe slot free; else open.
 */
export function locationHealth(files: ReadonlyMap<string, BreakerFile>, location: string, specs: readonly string[], now: number, settings: SpotSettings): LocationHealth {
  let probe = false;
  for (const spec of specs) {
    const breaker = spotBreaker(files, location, spec);
    if (!breaker || breakerState(breaker, now) === 'closed') return 'healthy';
    if (probeAvailable(breaker, now, settings)) probe = true;
  }
  return probe ? 'probe' : 'open';
}

/**
 * The routing of a new executor pod: untouched unless it is a spot executor; on-demand once its
 * app had `appReclaimLimit` reclaims or every location it may use is open; healthy vSwitches first
 * when only some are; a probe when the only way to spot is through a half-open breaker.
 */
export function routePod(placement: Placement, files: ReadonlyMap<string, BreakerFile>, appReclaims: number, now: number, settings: SpotSettings): Routing {
  if (placement.role !== 'executor') return { action: 'none', why: 'not-executor' };
  if (!placement.spot) return { action: 'none', why: 'not-spot' };
  if (settings.appReclaimLimit > 0 && appReclaims >= settings.appReclaimLimit) {
    return { action: 'on-demand', why: `app had ${appReclaims} spot reclaims (limit ${settings.appReclaimLimit})` };
  }
  const health = new Map<string, LocationHealth>();
  for (const c of placement.candidates) health.set(c.location, locationHealth(files, c.location, placement.specs, now, settings));
  const healthy = placement.candidates.filter((c) => health.get(c.location) === 'healthy');
  const probing = placement.candidates.filter((c) => health.get(c.location) === 'probe');
  const open = placement.candidates.filter((c) => health.get(c.location) === 'open');
  const unhealthy = [...new Set([...probing, ...open].map((c) => c.location))];
  if (healthy.length === placement.candidates.length) return { action: 'spot', why: 'all-closed' };
  if (healthy.length > 0) {
    return { action: 'reorder', why: `spot out of stock in ${unhealthy.join(', ')}`, order: [...healthy, ...probing, ...open] };
  }
  if (probing.length > 0) {
    const breakers = [...new Set(probing.map((c) => c.location))].flatMap((location) =>
      placement.specs.filter((spec) => {
        const b = spotBreaker(files, location, spec);
        return b !== undefined && probeAvailable(b, now, settings);
      }).map((spec) => breakerId(location, spec)),
    );
    return { action: 'probe', why: `probing spot in ${[...new Set(probing.map((c) => c.location))].join(', ')} after a stock-out`, order: [...probing, ...open], breakers };
  }
  return { action: 'on-demand', why: `spot out of stock in ${unhealthy.join(', ')}` };
}
