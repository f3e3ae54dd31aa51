import { InvalidInputError } from '../../shared/errors.js';
import type { SparkFunction } from '../../shared/platform/function.js';
import type { ScheduleInput, TriggerInput } from '../../shared/platform/trigger.js';
import { cleanUp, type JanitorSummary } from './clean-up.js';
import { withCluster, type JanitorDeps } from './deps.js';
import { settingsFromEnvironment, type JanitorSettings } from './settings.js';

export type { JanitorSummary, JanitorReport } from './clean-up.js';
export type { JanitorDeps } from './deps.js';
export type { JanitorSettings } from './settings.js';

/** How often `sparkfn serve` runs janitor (serverless.yml's schedule says the same). */
export const JANITOR_EVERY_MS = 10 * 60 * 1000;

/**
 * A timer payload may ask for a dry run (`{"dryRun": true}`), never for the opposite: turning
 * SPARKFN_JANITOR_DRY_RUN off is a deployment decision, not a trigger's.
 */
function payloadWantsDryRun(input: ScheduleInput): boolean {
  if (!input.payload) return false;
  try {
    const parsed = JSON.parse(input.payload) as unknown;
    return typeof parsed === 'object' && parsed !== null && (parsed as { dryRun?: unknown }).dryRun === true;
  } catch {
    return false;
  }
}

/**
 * janitor's core: on a timer, deletes what finished Spark apps left behind once their TTL passed
 * (executor pods, ConfigMaps, Services, Ingresses, then the driver pod; optionally the
 * SparkApplication), one deletecollection per kind per app, and what orphaned apps left after a
 * grace period. Never touches a running app, an unlabelled object or an opted-out one. Writes an
 * audit record to `audit/janitor/dt=<day>/<runId>.json` and returns the run's counters.
 *
 * `settings` override the SPARKFN_JANITOR_* configuration (tests, the CLI).
 * @example
 * const summary = await run({ kind: 'schedule', source: 'local', time: Date.now() }, { ...deps, kubeConfig }, { dryRun: true });
 * // { runId: '20260101T000000Z-1a2b3c4d', dryRun: true, apps: 270, due: 120, cleaned: 120, deleted: 6600, calls: 12, … }
 */
export async function run(input: TriggerInput, deps: JanitorDeps, settings?: Partial<JanitorSettings>): Promise<JanitorSummary> {
  if (input.kind !== 'schedule') {
    throw new InvalidInputError(`janitor does not take ${input.kind} triggers; it runs on a schedule.`, 'wrong-trigger');
  }
  const resolved: JanitorSettings = { ...settingsFromEnvironment(), ...settings };
  if (payloadWantsDryRun(input)) resolved.dryRun = true;
  return (await cleanUp(deps, resolved)).summary;
}

/** janitor as every host sees it; hosts that pass plain deps get the environment's cluster. */
export const fn: SparkFunction<JanitorSummary> = {
  name: 'janitor',
  triggers: ['schedule'],
  scheduleEveryMs: JANITOR_EVERY_MS,
  run: async (input, deps) => run(input, await withCluster(deps)),
};
