import { readFile } from 'node:fs/promises';
import type { V1Pod } from '@kubernetes/client-node';
import type { Deps } from '../../shared/deps.js';
import { normalizeTrigger } from '../../shared/platform/normalize.js';
import { shiftIsoTimes } from '../../shared/text/shift-times.js';
import { admit } from './admission.js';
import type { SpotCluster } from './cluster.js';
import { run } from './handler.js';
import { readSpotState } from './load-facts.js';
import { DEFAULT_SPOT_SETTINGS, type SpotSettings } from './settings.js';
import { breakerState } from './spot-breaker.js';
import type { SpotDeps } from './spot-deps.js';
import { SpotStateCache } from './state-cache.js';

const EVENTS = new URL('../../events/spot-fallback/', import.meta.url);
const STOCK_OUTS = ['no-stock', 'spot-degraded'];
/** The moment the samples were recorded at (2025-05-14, a minute after the stock-outs): the demo moves them to now. */
const SAMPLES_RECORDED_AT = Date.parse('2025-05-14T02:27:00Z');

/**
 * The sample pods (events/spot-fallback/data/pods.json) as a cluster would return them. The demo
 * runs in dry-run, so nothing asks it to change a pod; if something did, it says so.
 */
function samplePods(pods: V1Pod[]): SpotCluster {
  const refuse = async (): Promise<never> => {
    throw new Error('the demo has no cluster to change; it runs in dry-run');
  };
  return {
    getPod: async (namespace, name) => pods.find((p) => p.metadata?.namespace === namespace && p.metadata?.name === name),
    deletePod: refuse,
    evictPod: refuse,
    patchPodMetadata: refuse,
  };
}

/** The counters of a run that are not zero, as `signals 1, breakersOpened 4`. */
function describeSummary(summary: object): string {
  const counts = Object.entries(summary).filter(([, value]) => typeof value === 'number' && value > 0);
  return counts.length ? counts.map(([key, value]) => `${key} ${value}`).join(', ') : 'nothing to do';
}

/** `in 1m 30s` / `passed` for a breaker's end. */
function untilText(untilMs: number, nowMs: number): string {
  const seconds = Math.round((untilMs - nowMs) / 1000);
  if (seconds <= 0) return 'passed';
  return `in ${seconds >= 60 ? `${Math.floor(seconds / 60)}m ` : ''}${seconds % 60}s`;
}

/**
 * `sparkfn demo`'s part for spot-fallback: the stock-out samples through the breaker on the
 * demo's store (dry-run: the stuck pod is only reported), then the sample executor's
 * AdmissionReview through the webhook, showing the JSONPatch it would answer with.
 */
export async function demo(deps: Deps, out: (text: string) => void): Promise<void> {
  // The samples are replayed as if recorded a minute ago, so the breakers they open are open now.
  const offset = deps.clock.now() - SAMPLES_RECORDED_AT;
  const sample = async (name: string) => shiftIsoTimes(await readFile(new URL(name, EVENTS), 'utf8'), offset);
  const pods = (JSON.parse(await sample('data/pods.json')) as { items: V1Pod[] }).items;
  const settings: SpotSettings = {
    ...DEFAULT_SPOT_SETTINGS,
    vswitchZones: { 'vsw-bp1h2k3m4n5p6q7r8s9t0': 'cn-hangzhou-h', 'vsw-bp1i9z8y7x6w5v4u3t2s1': 'cn-hangzhou-i' },
    dryRun: true,
  };
  const clock = deps.clock;
  const spotDeps: SpotDeps = { ...deps, clock, settings, cache: new SpotStateCache(settings, clock), cluster: samplePods(pods) };
  out('\nspot-fallback: ECI stock-out samples through the breaker (dry-run)\n');
  for (const name of STOCK_OUTS) {
    const summary = await run(normalizeTrigger(Buffer.from(await sample(`${name}.json`))), spotDeps);
    out(`  ${name}.json → ${describeSummary(summary)}\n`);
  }
  const state = await readSpotState(deps.store, deps.logger, settings);
  for (const [id, file] of [...state.breakers].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const breaker = file.capacity.spot;
    if (breaker) out(`  breaker ${id}: ${breakerState(breaker, clock.now())} until ${new Date(breaker.openUntil ?? 0).toISOString()} (${untilText(breaker.openUntil ?? 0, clock.now())})\n`);
  }
  const review = Buffer.from(await sample('data/admission-review-executor.json'));
  const { outcome } = await admit({ kind: 'http', source: 'demo', method: 'POST', path: '/admission/spot-fallback', query: {}, headers: {}, body: review }, { ...spotDeps, settings: { ...settings, dryRun: false } });
  out(`  a new spot executor (vSwitches in cn-hangzhou-h, cn-hangzhou-i) → ${outcome.routing?.action}: ${JSON.stringify(outcome.patch)}\n`);
}
