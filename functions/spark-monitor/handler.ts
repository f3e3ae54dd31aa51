import type { KubeConfig } from '@kubernetes/client-node';
import type { CoreV1Event } from '@kubernetes/client-node';
import { loadConfig } from '../../shared/config.js';
import type { Deps } from '../../shared/deps.js';
import { InvalidInputError } from '../../shared/errors.js';
import { kubeConfigFromConfig } from '../../shared/k8s/client.js';
import type { Metrics } from '../../shared/metrics.js';
import type { SparkFunction } from '../../shared/platform/function.js';
import type { TriggerInput } from '../../shared/platform/trigger.js';
import { activeConditions, evaluateAlerts, type AlertOutcome } from './alerts.js';
import { SparkModel } from './model.js';
import { registerMonitorMetrics, type MonitorMetrics } from './monitor-metrics.js';
import { UNKNOWN, type RawObject } from './records.js';
import { monitorSettingsFromEnvironment, type MonitorSettings } from './settings.js';
import { COLLECTIONS, listSnapshot } from './snapshot.js';
import { readStoreSignals, type StoreSignals } from './store-signals.js';
import { computeView, type MonitorView } from './view.js';

/** What spark-monitor needs beyond the common deps: the cluster it lists (optional: serve feeds it watches instead). */
export interface MonitorDeps extends Deps {
  kubeConfig?: KubeConfig;
}

/** What one run did. */
export interface MonitorSummary {
  /** `watch`: changes applied or the watched model evaluated; `list`: a list snapshot; `events`: ECI events counted; `store-only`: no cluster, only the store's signals. */
  mode: 'watch' | 'list' | 'events' | 'store-only';
  applied: number;
  ignored: number;
  apps?: number;
  running?: number;
  stuck?: number;
  blocked?: number;
  leftovers?: number;
  alerts?: AlertOutcome;
  problems?: string[];
}

/** A view computed for a scrape is reused for this long when nothing changed (one scrape reads every gauge). */
const VIEW_REUSE_MS = 1_000;
/** ECI event uids (with their count) remembered so a re-sent event is not counted twice. */
const SEEN_EVENTS_MAX = 10_000;
/** Event reasons that mean ECI failed to create a pod (spot-fallback's eci-signals.ts reads the same ones). */
const ECI_CREATE_FAILURES = new Set(['ProviderCreateFailed', 'NoStock', 'StockExhaust', 'StockClose']);

/** The monitor's state in one process, per metrics registry (one per `sparkfn serve`): a cache safe to lose. */
export class MonitorState {
  readonly model: SparkModel;
  readonly metrics: MonitorMetrics;
  signals: Pick<StoreSignals, 'parked' | 'janitor'> = { parked: [] };
  /** Changes arrived from serve's watches: the model is kept by them, not by lists. */
  watchFed = false;
  lastSnapshotAt: number | undefined;
  private version = 0;
  private cached: { at: number; version: number; view: MonitorView } | undefined;
  private readonly seenEvents = new Set<string>();
  private leadership: AbortSignal | undefined;

  constructor(
    metrics: Metrics,
    readonly settings: MonitorSettings,
    private readonly now: () => number,
  ) {
    this.metrics = registerMonitorMetrics(metrics, () => this.currentView(), settings.topN, () => this.lastSnapshotAt);
    this.model = new SparkModel((namespace) => this.metrics.appsStarted.inc({ namespace }));
  }

  /** The view for a scrape: undefined until the model has been fed (nothing is known yet). */
  currentView(): MonitorView | undefined {
    this.forgetIfLeadershipEnded();
    if (!this.watchFed && this.lastSnapshotAt === undefined) return undefined;
    const now = this.now();
    if (this.cached && this.cached.version === this.version && now - this.cached.at < VIEW_REUSE_MS) return this.cached.view;
    const view = computeView(this.model, this.signals, now, this.settings);
    this.cached = { at: now, version: this.version, view };
    return view;
  }

  changed(): void {
    this.version++;
  }

  /**
   * Serve's watches run under leadership: when this replica's lease ends (the signal serve hands
   * the watched changes aborts), what it watched is no longer kept up, so it is forgotten. Checked
   * when the model is read rather than by a listener: serve's signal already carries one per watch.
   */
  followLeadership(signal: AbortSignal | undefined): void {
    if (signal === this.leadership) return;
    this.forgetIfLeadershipEnded();
    if (signal) this.leadership = signal;
  }

  /** Forgets the watched model once the leadership that fed it has ended. */
  forgetIfLeadershipEnded(): void {
    if (!this.leadership?.aborted) return;
    this.leadership = undefined;
    this.model.replaceAll([], this.now());
    this.watchFed = false;
    this.lastSnapshotAt = undefined;
    this.changed();
  }

  /** True the first time an event (uid and count) is seen. */
  firstSight(event: CoreV1Event): boolean {
    const id = `${event.metadata?.uid ?? `${event.involvedObject?.namespace}/${event.involvedObject?.name}/${event.reason}/${String(event.lastTimestamp ?? event.eventTime ?? '')}`}#${event.count ?? 1}`;
    if (this.seenEvents.has(id)) return false;
    if (this.seenEvents.size >= SEEN_EVENTS_MAX) this.seenEvents.delete(this.seenEvents.values().next().value!);
    this.seenEvents.add(id);
    return true;
  }
}

const states = new WeakMap<Metrics, MonitorState>();

/** The process's state for `deps.metrics`, made on first use. */
export function monitorState(deps: Pick<Deps, 'metrics' | 'clock'>, settings: MonitorSettings): MonitorState {
  let state = states.get(deps.metrics);
  if (!state) {
    state = new MonitorState(deps.metrics, settings, () => deps.clock.now());
    states.set(deps.metrics, state);
  }
  return state;
}

function countEciFailures(events: CoreV1Event[], state: MonitorState): { applied: number; ignored: number } {
  let applied = 0;
  for (const event of events) {
    if (!ECI_CREATE_FAILURES.has(event.reason ?? '') || event.involvedObject?.kind !== 'Pod' || !state.firstSight(event)) continue;
    const pod = [...state.model.pods.values()].find((p) => p.namespace === event.involvedObject.namespace && p.name === event.involvedObject.name);
    state.metrics.eciCreateFailures.inc({ zone: pod?.zone ?? UNKNOWN, instance_type: pod?.instanceType ?? UNKNOWN, reason: event.reason! });
    applied++;
  }
  return { applied, ignored: events.length - applied };
}

let environmentCluster: Promise<KubeConfig | undefined> | undefined;

/**
 * spark-monitor's core.
 * - `k8s-objects` (serve's watches of Spark pods, app-labelled ConfigMaps / Services / Ingresses,
 *   ResourceQuotas, SparkApplications): applied to the in-memory model; /metrics reads it.
 * - `k8s-events` (kube-eventer): ECI create failures counted by zone, spec and reason.
 * - `schedule`: under serve with watches, evaluates the watched model; elsewhere (FC, Lambda,
 *   `sparkfn invoke`) builds the same model from a paginated list snapshot. Then reads
 *   quota-retry's queue and janitor's last audit from the store, computes the view, and sends
 *   alerts for stuck apps, blocked submissions and leftovers, one per condition episode.
 * @example
 * const summary = await run({ kind: 'schedule', source: 'fc-timer', time: Date.now() }, { ...deps, kubeConfig });
 * // { mode: 'list', applied: 21000, ignored: 0, apps: 1000, running: 400, stuck: 3, blocked: 2, leftovers: 640, alerts: { fired: 5, … } }
 */
export async function run(input: TriggerInput, deps: MonitorDeps, settings: MonitorSettings = monitorSettingsFromEnvironment()): Promise<MonitorSummary> {
  const state = monitorState(deps, settings);
  switch (input.kind) {
    case 'k8s-objects': {
      state.followLeadership(deps.signal);
      state.watchFed = true;
      let applied = 0;
      for (const change of input.changes) if (state.model.apply({ type: change.type, object: change.object as RawObject }, deps.clock.now())) applied++;
      if (applied > 0) state.changed();
      return { mode: 'watch', applied, ignored: input.changes.length - applied };
    }
    case 'k8s-events':
      return { mode: 'events', ...countEciFailures(input.events, state) };
    case 'schedule':
      return evaluate(input.source, deps, state);
    default:
      throw new InvalidInputError(`spark-monitor does not take ${input.kind} triggers; it takes watched objects, ECI events and a timer.`, 'wrong-trigger');
  }
}

async function evaluate(source: string, deps: MonitorDeps, state: MonitorState): Promise<MonitorSummary> {
  const now = deps.clock.now();
  let mode: MonitorSummary['mode'] = 'watch';
  let applied = 0;
  state.forgetIfLeadershipEnded();
  if (!(source === 'sparkfn-serve' && state.watchFed)) {
    const kubeConfig = deps.kubeConfig ?? (await (environmentCluster ??= kubeConfigFromConfig(loadConfig())));
    if (kubeConfig) {
      const objects = await listSnapshot(kubeConfig, deps.signal);
      state.model.replaceAll(objects, now);
      applied = objects.length;
      mode = 'list';
    } else {
      mode = 'store-only';
    }
  }
  const signals = await readStoreSignals(deps.store, now, deps.logger);
  state.signals = signals;
  if (mode !== 'store-only') state.lastSnapshotAt = now;
  state.changed();
  const view = computeView(state.model, signals, now, state.settings);
  const alerts = await evaluateAlerts(activeConditions(view, state.settings), deps, state.settings);
  const summary: MonitorSummary = {
    mode,
    applied,
    ignored: 0,
    apps: view.apps.reduce((sum, a) => sum + a.count, 0),
    running: view.apps.filter((a) => a.state === 'running').reduce((sum, a) => sum + a.count, 0),
    stuck: view.stuck.length,
    blocked: view.blocked.length,
    leftovers: view.leftovers.reduce((sum, l) => sum + l.count, 0),
    alerts,
    ...(signals.problems.length > 0 ? { problems: signals.problems } : {}),
  };
  deps.logger.info({ function: 'spark-monitor', ...summary }, 'spark-monitor run');
  return summary;
}

/** What a host may fix instead of reading it from the environment (tests, the demo). */
export interface MonitorFunctionOptions {
  settings?: MonitorSettings;
}

/** spark-monitor as every host sees it. */
export function createMonitorFunction(options: MonitorFunctionOptions = {}): SparkFunction<MonitorSummary> {
  const settings = () => options.settings ?? monitorSettingsFromEnvironment();
  return {
    name: 'spark-monitor',
    triggers: ['k8s-objects', 'k8s-events', 'schedule'],
    get scheduleEveryMs() {
      return settings().everyMs;
    },
    watches: COLLECTIONS.map((c) => ({ path: c.path, ...(c.labelSelector ? { labelSelector: c.labelSelector } : {}) })),
    run: async (input, deps) => run(input, deps, settings()),
  };
}

/** spark-monitor with settings from the environment. */
export const fn: SparkFunction<MonitorSummary> = createMonitorFunction();
