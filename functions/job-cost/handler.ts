import type { CoreV1Event } from '@kubernetes/client-node';
import type { Deps } from '../../shared/deps.js';
import { errorMessage, InvalidInputError } from '../../shared/errors.js';
import { isSafeKeySegment } from '../../shared/ids.js';
import { type AppIdSource, type AppResolution, resolveAppId } from '../../shared/spark/app-identity.js';
import { type ClusterDeps, sparkApplicationSource } from '../../shared/spark/spark-application-lookup.js';
import type { SparkFunction } from '../../shared/platform/function.js';
import type { HttpResult, TriggerInput } from '../../shared/platform/trigger.js';
import { appEndAnswer } from './app-end-answer.js';
import { buildRecord, type CostRecord, writeRecord } from './cost-record.js';
import { APP_END_PATH, type AppEnd, endOfDriverPod, readEvent, readHttpInput } from './end-signals.js';
import { eventLogPropertiesSource } from './event-log-identity.js';
import { readEventLog } from './event-log-reader.js';
import { Ledger } from './ledger.js';
import { mergeApp } from './merge.js';
import { ledgerPodFromChange } from './pod-facts.js';
import { type CostSettings, resolveSettings } from './settings.js';

/** What one run did; logged as one line. */
export interface CostRunSummary {
  /** Distinct app ends the input carried. */
  ends: number;
  /** Cost records written (one per app; a duplicate signal rewrites the same key). */
  recorded: number;
  /** Ends naming a SparkApplication whose app id no source knew (pod ledger, cluster, event logs). */
  unresolved: number;
  ledgerWritten: number;
  ledgerUnchanged: number;
  /** Facts about pods not seen yet, kept until they are. */
  ledgerPending: number;
  /** Changes and events that are not about Spark pods or app ends. */
  ignored: number;
  /** App ends that could not be costed: no source at all (neither event log nor ledger), or an error. Any makes `sparkfn invoke` exit 1. */
  failed: number;
  /** One sentence per failed app, naming it and why (for an app with no source, the keys looked for). */
  failures: string[];
  records: { key: string; appId: string; namespace: string; resolvedBy: AppResolution; source: string; incomplete: boolean; total: number | null; currency: string | null; errors: number }[];
}

function emptySummary(): CostRunSummary {
  return { ends: 0, recorded: 0, unresolved: 0, ledgerWritten: 0, ledgerUnchanged: 0, ledgerPending: 0, ignored: 0, failed: 0, failures: [], records: [] };
}

/**
 * job-cost's core: keeps the pod ledger from pod changes and events, and when an app ends
 * (spark-operator's SparkApplicationCompleted / Failed, a driver pod Succeeded / Failed, or a
 * POST of `{appId, namespace, endTime}`) merges its event log and ledger into one priced record
 * at `costs/dt=<YYYY-MM-DD>/<namespace>/<appId>.json`, published to SPARKFN_COST_KAFKA_TOPIC
 * too when set. One app failing is counted and logged; the others go on.
 * @example
 * const summary = await run({ kind: 'k8s-objects', source: 'k8s:watch', changes: [{ type: 'MODIFIED', object: driverPod }] }, deps);
 * // { ends: 1, recorded: 1, records: [{ key: 'costs/dt=2025-05-14/spark-jobs/spark-4f9c….json', total: 0.42, … }], … }
 */
export async function run(input: TriggerInput, deps: Deps & ClusterDeps, overrides?: Partial<CostSettings>): Promise<CostRunSummary> {
  const settings = await resolveSettings(overrides);
  const ledger = new Ledger(deps.store);
  const summary = emptySummary();
  const ends: AppEnd[] = [];
  const count = (write: string) => {
    if (write === 'written') summary.ledgerWritten++;
    else if (write === 'unchanged') summary.ledgerUnchanged++;
    else if (write === 'pending') summary.ledgerPending++;
  };

  const readEvents = async (events: readonly CoreV1Event[]) => {
    for (const event of events) {
      const { end, facts } = readEvent(event);
      if (facts && isSafeKeySegment(facts.podName) && isSafeKeySegment(facts.namespace)) {
        count(await ledger.recordPodFacts(facts.namespace, facts.podName, facts.facts));
      } else if (end) ends.push(end);
      else summary.ignored++;
    }
  };

  switch (input.kind) {
    case 'k8s-objects':
      for (const change of input.changes) {
        const pod = ledgerPodFromChange(change, deps.clock.now());
        if (!pod || !isSafeKeySegment(pod.appId) || !isSafeKeySegment(pod.podName) || !isSafeKeySegment(pod.namespace)) {
          summary.ignored++;
          continue;
        }
        count(await ledger.recordPod(pod));
        const end = endOfDriverPod(pod);
        if (end) ends.push(end);
      }
      break;
    case 'k8s-events':
      await readEvents(input.events);
      break;
    case 'http': {
      const carried = readHttpInput(input);
      if ('end' in carried) ends.push(carried.end);
      else await readEvents(carried.events);
      break;
    }
    default:
      throw new InvalidInputError(`job-cost does not take ${input.kind} triggers; it takes k8s-objects, k8s-events and http.`, 'wrong-trigger');
  }

  const identitySources = appIdSources(deps, ledger, settings);
  const seen = new Set<string>();
  for (const end of ends) {
    if (deps.signal?.aborted) break;
    let appId = end.appId;
    let resolvedBy: AppResolution = 'end-signal';
    if (!appId && end.appName) {
      const { resolved, attempts } = await resolveAppId({ namespace: end.namespace, name: end.appName, ...(end.endTime !== undefined ? { endTime: end.endTime } : {}), ...(end.driverPod ? { driverPod: end.driverPod } : {}) }, identitySources);
      if (resolved) ({ appId, resolvedBy } = resolved);
      else {
        summary.unresolved++;
        deps.logger.warn({ function: 'job-cost', end, attempts }, 'an app ended whose app id no source knows (pod ledger, SparkApplication status, event logs): no record written');
        continue;
      }
    }
    if (!appId) {
      summary.unresolved++;
      continue;
    }
    if (seen.has(`${end.namespace}/${appId}`)) continue;
    seen.add(`${end.namespace}/${appId}`);
    summary.ends++;
    try {
      const record = await costApp(appId, end, deps, ledger, settings, resolvedBy);
      if (record.record.source === 'none') {
        // A record with nothing behind it is written (so the app is not silently missing) but is a failure, never a zero cost.
        summary.failed++;
        summary.failures.push(`${end.namespace}/${appId}: ${record.record.errors[0] ?? 'no source'}`);
        deps.metrics.counter('job_cost_unsourced_total', 'App ends with neither an event log nor ledger entries: not costed.', ['namespace']).inc({ namespace: end.namespace });
        deps.logger.error({ function: 'job-cost', appId, namespace: end.namespace, key: record.key, err: record.record.errors[0] }, 'an app ended with nothing to cost it from');
      } else summary.recorded++;
      summary.records.push({
        key: record.key,
        appId,
        namespace: end.namespace,
        resolvedBy,
        source: record.record.source,
        incomplete: record.record.incomplete,
        total: record.record.cost?.total ?? null,
        currency: record.record.cost?.currency ?? null,
        errors: record.record.errors.length,
      });
    } catch (err) {
      summary.failed++;
      summary.failures.push(`${end.namespace}/${appId}: ${errorMessage(err)}`);
      deps.logger.error({ function: 'job-cost', appId, namespace: end.namespace, err: errorMessage(err) }, 'costing an app failed');
    }
  }
  recordMetrics(deps, summary);
  deps.logger.info({ function: 'job-cost', ...summary, records: summary.records.map((r) => r.key) }, 'job-cost run');
  return summary;
}

/**
 * Where an app id is learned for an end that names only its SparkApplication, in order: the pod
 * ledger (`sparkfn serve`'s pod watch fills it), the cluster when the host's deps carry one
 * (`cluster`: the SparkApplication's status, else its driver pod's labels), then the event logs'
 * Spark properties (Function Compute / Lambda with nothing but kube-eventer and the event logs).
 */
export function appIdSources(deps: Deps & ClusterDeps, ledger: Ledger, settings: CostSettings): AppIdSource[] {
  const ledgerSource: AppIdSource = {
    name: 'pod-ledger',
    resolve: async (app) => {
      const appId = await ledger.appIdForName(app.namespace, app.name);
      return appId ? { appId, resolvedBy: 'pod-ledger' } : undefined;
    },
  };
  return [ledgerSource, ...(deps.cluster ? [sparkApplicationSource(deps.cluster)] : []), eventLogPropertiesSource(deps.store, settings.eventLogPrefix)];
}

/** Costs one app now: read both sources, merge, price, write, publish. */
export async function costApp(appId: string, end: AppEnd, deps: Deps, ledger: Ledger, settings: CostSettings, resolvedBy: AppResolution = 'end-signal'): Promise<{ key: string; record: CostRecord }> {
  const namespace = end.namespace;
  const [log, pods] = await Promise.all([readEventLog(deps.store, settings.eventLogPrefix, appId), ledger.podsOf(namespace, appId)]);
  const merged = mergeApp({ appId, namespace, ...(log ? { log } : {}), pods, ...(end.endTime !== undefined ? { signalEnd: end.endTime } : {}), teamLabels: settings.teamLabels, eventLogPrefix: settings.eventLogPrefix });
  const now = deps.clock.now();
  const record: CostRecord = { ...buildRecord(merged, settings.prices, now, settings.region), resolvedBy };
  const key = await writeRecord(deps.store, record, merged.end ?? end.endTime ?? now);
  if (settings.kafkaTopic && deps.publisher) {
    await deps.publisher.publish(settings.kafkaTopic, [{ key: `${namespace}/${appId}`, value: JSON.stringify(record) }]);
  }
  deps.metrics.histogram('job_cost_event_log_bytes', 'Decompressed bytes of event logs read per costed app.', [], [1e5, 1e6, 1e7, 1e8, 1e9]).observe((log?.attempts ?? (log ? [log] : [])).reduce((bytes, read) => bytes + read.stats.bytes, 0));
  if (record.cost) deps.metrics.counter('job_cost_total', 'Money of costed apps (spot at its upper bound), per currency.', ['currency', 'namespace']).inc({ currency: record.cost.currency, namespace }, record.cost.total);
  return { key, record };
}

function recordMetrics(deps: Deps, summary: CostRunSummary): void {
  const outcomes = deps.metrics.counter('job_cost_apps_total', 'App ends handled by job-cost, by outcome.', ['outcome']);
  if (summary.recorded) outcomes.inc({ outcome: 'recorded' }, summary.recorded);
  if (summary.unresolved) outcomes.inc({ outcome: 'unresolved' }, summary.unresolved);
  if (summary.failed) outcomes.inc({ outcome: 'failed' }, summary.failed);
  const resolutions = deps.metrics.counter('job_cost_app_resolutions_total', 'Costed apps, by how their app id was found.', ['resolved_by']);
  for (const record of summary.records) resolutions.inc({ resolved_by: record.resolvedBy });
  const writes = deps.metrics.counter('job_cost_ledger_writes_total', 'Ledger updates, by result.', ['result']);
  if (summary.ledgerWritten) writes.inc({ result: 'written' }, summary.ledgerWritten);
  if (summary.ledgerPending) writes.inc({ result: 'pending' }, summary.ledgerPending);
}

/** job-cost as every host sees it: the pod watch feeds its ledger, the listener posts app ends. */
export const fn: SparkFunction<CostRunSummary | HttpResult> = {
  name: 'job-cost',
  triggers: ['k8s-objects', 'k8s-events', 'http'],
  routes: [{ path: APP_END_PATH, methods: ['POST'], auth: 'webhook' }],
  watches: [{ path: '/api/v1/pods', labelSelector: 'spark-role' }],
  // An HTTP caller gets a status that says what happened; every other trigger gets the summary.
  run: async (input, deps) => (input.kind === 'http' ? appEndAnswer(await run(input, deps)) : run(input, deps)),
};
