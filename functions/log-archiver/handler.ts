import type { Deps } from '../../shared/deps.js';
import { InvalidInputError } from '../../shared/errors.js';
import type { SparkFunction } from '../../shared/platform/function.js';
import type { K8sEventsInput, K8sObjectsInput, TriggerInput } from '../../shared/platform/trigger.js';
import { type AppEnd, appEndOf, appsForEnds } from './app-end.js';
import { type ArchiveSummary, archiveBatch } from './archive-batch.js';
import { LOGS_PREFIX, appPrefix } from './chunk-key.js';
import { type CompactionSummary, type StreamObjects, compactIdle, compactStreams, emptyCompactionSummary, listStreams } from './compact.js';
import { DRIVER_POD_WATCH, type DriverPodEnd, driverPodEnd } from './driver-pod.js';
import { splitEndEvents } from './end-events-in-batch.js';
import { type ArchiverSettings, resolveSettings } from './settings.js';

export type { ArchiveSummary } from './archive-batch.js';
export type { CompactionSummary } from './compact.js';
export { compactApp } from './compact.js';

/** What one invocation did: a Kafka batch archived, or a compaction run. */
export type ArchiverResult = ArchiveSummary | CompactionSummary;

/** How often `sparkfn serve` runs the idle-executor compaction (serverless.yml's schedule says the same). */
export const COMPACTION_EVERY_MS = 5 * 60 * 1000;

/**
 * log-archiver's core.
 * - `kafka`: archives the batch (Filebeat events or plain lines) as gzip chunks under
 *   `logs/<appId>/<executorId>/<stream>/`, dead-letters what cannot be archived, and resolves only
 *   after every write succeeded; a failed write rejects, so the batch is delivered again.
 *   kube-eventer Kafka sink messages in the batch are app-end events, handled as `k8s-events`.
 * - `schedule`: compacts the executors that have been idle for SPARKFN_ARCHIVER_COMPACT_IDLE_SECONDS.
 * - `k8s-events`: compacts the apps that ended (SparkApplicationCompleted / Failed, a driver pod terminal).
 * - `k8s-objects` (`sparkfn serve`'s driver pod watch): compacts the app of a driver pod whose
 *   phase became Succeeded or Failed, or that was deleted; its `spark-app-selector` label is the app id.
 *
 * `settings` override the SPARKFN_ARCHIVER_* configuration (tests, the demo).
 * @example
 * const summary = await run({ kind: 'kafka', source: 'local', records }, deps);
 * // { kind: 'archive', records: 3, archived: 3, chunks: 2, deadLettered: 0, … }
 */
export async function run(input: TriggerInput, deps: Deps, settings?: Partial<ArchiverSettings>): Promise<ArchiverResult> {
  const resolved = resolveSettings(settings);
  switch (input.kind) {
    case 'kafka': {
      const { events, logs } = splitEndEvents(input);
      if (events.length === 0) return archiveBatch(input, deps, resolved);
      // Logs first: lines of an app that arrive in the batch that ends it are compacted with it.
      const archived = logs.records.length > 0 ? await archiveBatch(logs, deps, resolved) : undefined;
      const compacted = await compactEnded({ kind: 'k8s-events', source: `${input.source}>kube-eventer:kafka`, events }, deps, resolved);
      return archived ?? compacted;
    }
    case 'schedule':
      return compactIdle(deps, resolved, deps.clock.now());
    case 'k8s-events':
      return compactEnded(input, deps, resolved);
    case 'k8s-objects':
      return compactEndedDrivers(input, deps, resolved);
    default:
      throw new InvalidInputError(`log-archiver does not take ${input.kind} triggers; it takes kafka, schedule, k8s-events and k8s-objects.`, 'wrong-trigger');
  }
}

/**
 * Compacts the apps an event batch says ended: their chunks are matched by the SparkApplication
 * name (the operator's app-name label, as shared/spark/app-identity.ts orders the labels) and
 * the driver pod their metadata carry.
 */
async function compactEnded(input: K8sEventsInput, deps: Deps, settings: ArchiverSettings): Promise<CompactionSummary> {
  const ends = input.events.map(appEndOf).filter((e): e is AppEnd => e !== undefined);
  if (ends.length === 0) return emptyCompactionSummary('app-end');
  const streams = await listStreams(deps.store, LOGS_PREFIX);
  const apps = new Set(await appsForEnds(deps.store, ends, streams));
  deps.logger.info({ function: 'log-archiver', ends, apps: [...apps] }, 'apps ended');
  return compactStreams(
    streams.filter((s) => apps.has(s.appId)),
    deps,
    settings,
    'app-end',
  );
}

/**
 * Compacts the apps whose driver pod ended. A labelled driver names its app id: only that app's
 * prefix is listed. A driver without the label (not made by spark-submit) is matched like a pod
 * event, by its chunks' namespace and pod / app name metadata, which needs the whole listing.
 */
async function compactEndedDrivers(input: K8sObjectsInput, deps: Deps, settings: ArchiverSettings): Promise<CompactionSummary> {
  const ended = input.changes.map(driverPodEnd).filter((e): e is DriverPodEnd => e !== undefined);
  if (ended.length === 0) return emptyCompactionSummary('app-end');
  const labelled = new Set(ended.flatMap((e) => (e.appId ? [e.appId] : [])));
  const streams: StreamObjects[] = [];
  for (const appId of labelled) streams.push(...(await listStreams(deps.store, appPrefix(appId))));
  const unlabelled = ended.filter((e) => !e.appId).map((e) => e.end);
  if (unlabelled.length > 0) {
    const all = await listStreams(deps.store, LOGS_PREFIX);
    const apps = new Set(await appsForEnds(deps.store, unlabelled, all));
    streams.push(...all.filter((s) => apps.has(s.appId) && !labelled.has(s.appId)));
  }
  deps.logger.info({ function: 'log-archiver', ends: ended.map((e) => e.end), apps: [...new Set(streams.map((s) => s.appId))] }, 'driver pods ended');
  return compactStreams(streams, deps, settings, 'app-end');
}

/** log-archiver as every host sees it. */
export const fn: SparkFunction<ArchiverResult> = {
  name: 'log-archiver',
  triggers: ['kafka', 'schedule', 'k8s-events', 'k8s-objects'],
  scheduleEveryMs: COMPACTION_EVERY_MS,
  watches: [DRIVER_POD_WATCH],
  run: (input, deps) => run(input, deps),
};
