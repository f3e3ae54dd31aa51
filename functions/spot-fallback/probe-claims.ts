import { errorMessage } from '../../shared/errors.js';
import { breakerId } from './breaker-store.js';
import { claimProbeSlot, probeClaimKey, probeReleaseKey, putProbeRelease, type ProbeClaimFact } from './facts.js';
import type { Placement } from './placement.js';
import { locationsOf } from './placement.js';
import { breakerState } from './spot-breaker.js';
import type { SpotDeps } from './spot-deps.js';
import type { SpotState } from './spot-state.js';
import { splitBreakerId } from './spot-state.js';

/**
 * A pod appears within a second of its admission unless something refused it (another webhook,
 * a quota, a made-up review): a claim whose pod is not there after this long is released.
 */
export const PROBE_CONFIRM_MS = 30_000;

/**
 * Claims the probe slot of each of the pod's half-open breakers (`ids`), one create-only write per
 * breaker, in turn. Returns the breakers whose slot this pod holds (it created the claim, or a
 * retried review finds its own). A write that fails otherwise counts as lost.
 */
export async function claimProbes(ids: readonly string[], state: SpotState, pod: { namespace: string; name: string; review: string }, deps: SpotDeps): Promise<string[]> {
  const now = deps.clock.now();
  const won: string[] = [];
  // Every pod goes through its half-open breakers in one order and stops at the first one another
  // pod holds: pods that race meet at the first breaker, and its winner takes the whole set.
  const live = (holder: ProbeClaimFact) => now - holder.at < deps.settings.probeTimeoutMs;
  for (const id of [...ids].sort()) {
    const slots = state.probes.get(id);
    if (!slots) continue;
    const { location, spec } = splitBreakerId(id);
    const holder = slots.holder?.fact;
    if (holder && holder.namespace === pod.namespace && holder.name === pod.name) {
      won.push(id);
      continue;
    }
    if (holder && live(holder)) break;
    const key = probeClaimKey(location, spec, slots.period, slots.nextSlot);
    const fact: ProbeClaimFact = { namespace: pod.namespace, name: pod.name, at: now, review: pod.review };
    try {
      const claim = await claimProbeSlot(deps.store, key, fact);
      deps.cache.note(key, claim.holder);
      if (!claim.won) break;
      won.push(id);
    } catch (err) {
      deps.logger.warn({ breaker: id, err: errorMessage(err) }, 'could not claim the spot probe; routing as if it were taken');
      break;
    }
  }
  return won;
}

/**
 * Releases the probe slots, among the breakers a pod may use, whose holder never became a pod:
 * claimed more than PROBE_CONFIRM_MS ago, not timed out yet, and the cluster has no such pod. So a
 * made-up AdmissionReview cannot keep a half-open breaker's only probe. Needs a cluster; without
 * one a claim lasts until SPARKFN_SPOT_PROBE_TIMEOUT_SECONDS. Returns whether it released any.
 */
export async function releaseAbsentProbes(placement: Placement, state: SpotState, deps: SpotDeps): Promise<boolean> {
  const cluster = deps.cluster;
  if (!cluster) return false;
  const now = deps.clock.now();
  let released = false;
  const exists = new Map<string, Promise<boolean>>();
  for (const location of locationsOf(placement)) {
    for (const spec of placement.specs) {
      const id = breakerId(location, spec);
      const slots = state.probes.get(id);
      const holder = slots?.holder;
      const spot = state.breakers.get(id)?.capacity.spot;
      if (!slots || !holder || !spot || breakerState(spot, now) !== 'half-open') continue;
      const age = now - holder.fact.at;
      if (age < PROBE_CONFIRM_MS || age >= deps.settings.probeTimeoutMs || deps.cache.confirmedClaims.has(holder.key)) continue;
      const pod = `${holder.fact.namespace}/${holder.fact.name}`;
      if (!exists.has(pod)) exists.set(pod, cluster.getPod(holder.fact.namespace, holder.fact.name).then((p) => p !== undefined));
      if (await exists.get(pod)) {
        deps.cache.confirmedClaims.add(holder.key);
        continue;
      }
      const key = probeReleaseKey(location, spec, slots.period, holder.slot);
      await putProbeRelease(deps.store, key, { at: now, why: `no pod ${holder.fact.namespace}/${holder.fact.name} ${Math.round(age / 1000)} s after its admission` });
      deps.cache.note(key, {});
      deps.logger.warn({ breaker: id, pod: `${holder.fact.namespace}/${holder.fact.name}`, review: holder.fact.review }, 'spot probe released: its pod never appeared');
      released = true;
    }
  }
  return released;
}

/**
 * A probe pod was deleted: the slots it holds are released (unless it had run: then its probe-run
 * fact already closed them), so the next executor probes instead of waiting for the timeout.
 * Returns how many it released.
 */
export async function releaseProbesOf(pod: { namespace: string; name: string }, deps: SpotDeps): Promise<number> {
  const state = await deps.cache.state(deps);
  let released = 0;
  for (const [id, slots] of state.probes) {
    const holder = slots.holder;
    if (!holder || holder.fact.namespace !== pod.namespace || holder.fact.name !== pod.name) continue;
    const { location, spec } = splitBreakerId(id);
    const key = probeReleaseKey(location, spec, slots.period, holder.slot);
    await putProbeRelease(deps.store, key, { at: deps.clock.now(), why: `probe pod ${pod.namespace}/${pod.name} was deleted` });
    deps.cache.note(key, {});
    released++;
  }
  if (released > 0) deps.logger.info({ pod: `${pod.namespace}/${pod.name}`, released }, 'spot probe pod deleted: its probe slots released');
  return released;
}
