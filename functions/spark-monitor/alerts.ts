import type { Logger } from 'pino';
import type { AlertMessage } from '../../shared/alerts/alert-payload.js';
import { sendAlertMessage } from '../../shared/alerts/send-alert.js';
import { errorMessage, PreconditionFailedError } from '../../shared/errors.js';
import { keySegmentProblem } from '../../shared/ids.js';
import type { ObjectStore } from '../../shared/store/object-store.js';
import { listAll } from '../../shared/store/read.js';
import type { MonitorSettings } from './settings.js';
import type { MonitorView } from './view.js';

/**
 * Open alerts, one fact per episode (README, "State under concurrency"):
 * ```
 * alerts/spark-monitor/<condition>/<episode>.json            fired: created create-only when the condition starts
 * alerts/spark-monitor/<condition>/<episode>.resolved.json   resolved: created create-only when it clears
 * ```
 * `<episode>` counts the condition's episodes (000000, 000001, …): the next one is derived from
 * the facts there, so two timers that race compute the same key and the create-only write
 * decides who sends. A fact is never rewritten.
 */
export const ALERTS_PREFIX = 'alerts/spark-monitor/';
const EPISODE_DIGITS = 6;
const JSON_PUT = { contentType: 'application/json', ifNoneMatch: '*' } as const;

/** A condition that holds now. */
export interface ActiveCondition {
  /** Key segment: `stuck-app~<namespace>~<appId>`, `quota-blocked~<namespace>~<submissionId>`, `leftovers~<kind>`. */
  id: string;
  title: string;
  lines: string[];
  link?: string;
}

/** What one evaluation did. */
export interface AlertOutcome {
  active: number;
  fired: number;
  resolved: number;
  /** Sends that failed: the fact is taken back so the next run tries again. */
  failed: number;
  /** Conditions some other run had already claimed (lost create-only writes). */
  lost: number;
  /** Conditions whose id cannot be a store key (reported, never sent). */
  skipped: number;
}

function logLink(settings: MonitorSettings, appId: string): string | undefined {
  return settings.logViewerUrl ? `${settings.logViewerUrl.replace(/\/+$/, '')}/logs/${encodeURIComponent(appId)}` : undefined;
}

function duration(seconds: number): string {
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 7200) return `${Math.floor(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

/** The conditions the view shows: stuck apps, blocked submissions, leftovers past the threshold. */
export function activeConditions(view: MonitorView, settings: MonitorSettings): ActiveCondition[] {
  const conditions: ActiveCondition[] = [];
  for (const s of view.stuck) {
    const link = logLink(settings, s.appId);
    conditions.push({
      id: `stuck-app~${s.namespace}~${s.appId}`,
      title: `Spark app ${s.namespace}/${s.appName || s.appId} is stuck`,
      lines: [
        `app: ${s.appId}`,
        `no running executor for ${duration(s.stuckSeconds)} (${s.reason}: ${s.pendingExecutors} pending, ${s.failedExecutors} failed)`,
      ],
      ...(link ? { link } : {}),
    });
  }
  for (const b of view.blocked) {
    conditions.push({
      id: `quota-blocked~${b.namespace}~${b.submissionId}`,
      title: `Submission ${b.namespace}/${b.submissionId} is waiting for quota`,
      lines: [`parked by quota-retry for ${duration(b.waitingSeconds)}`],
    });
  }
  const old = new Map<string, number>();
  for (const l of view.leftovers) if (l.age === 'gt_24h') old.set(l.kind, (old.get(l.kind) ?? 0) + l.count);
  for (const [kind, count] of [...old].sort()) {
    if (count <= settings.leftoversAlert) continue;
    conditions.push({
      id: `leftovers~${kind}`,
      title: `${count} ${kind} of finished apps are older than 24 h`,
      lines: [`threshold: ${settings.leftoversAlert}`, 'janitor is not cleaning them: see its audit (audit/janitor/) and sparkfn_monitor_leftovers_failing'],
    });
  }
  return conditions;
}

interface Episodes {
  /** Highest episode number with a fired fact, and whether it is resolved. */
  last: number;
  open: boolean;
}

async function readEpisodes(store: ObjectStore): Promise<Map<string, Episodes>> {
  const byCondition = new Map<string, { fired: Set<number>; resolved: Set<number> }>();
  for await (const object of listAll(store, ALERTS_PREFIX)) {
    const [condition, file] = object.key.slice(ALERTS_PREFIX.length).split('/');
    const m = /^(\d+)(\.resolved)?\.json$/.exec(file ?? '');
    if (!condition || !m) continue;
    const entry = byCondition.get(condition) ?? { fired: new Set(), resolved: new Set() };
    (m[2] ? entry.resolved : entry.fired).add(Number(m[1]));
    byCondition.set(condition, entry);
  }
  const episodes = new Map<string, Episodes>();
  for (const [condition, { fired, resolved }] of byCondition) {
    const last = Math.max(-1, ...fired, ...resolved);
    episodes.set(condition, { last, open: fired.has(last) && !resolved.has(last) });
  }
  return episodes;
}

const episodeKey = (condition: string, episode: number, resolved: boolean) =>
  `${ALERTS_PREFIX}${condition}/${String(episode).padStart(EPISODE_DIGITS, '0')}${resolved ? '.resolved' : ''}.json`;

/** Per store, one evaluation at a time in this process; across processes the Lease (serve) or the create-only write arbitrates. */
const inFlight = new WeakMap<ObjectStore, Promise<unknown>>();

/**
 * Sends one message per condition episode: a firing message when a condition starts (no open
 * episode), nothing while it lasts, a resolved message when it clears. A send that fails takes
 * its fact back (deletes it), so the next run sends again; a lost create-only write means
 * another run sent it.
 */
export async function evaluateAlerts(
  conditions: readonly ActiveCondition[],
  deps: { store: ObjectStore; logger: Logger; clock: { now(): number }; signal?: AbortSignal },
  settings: MonitorSettings,
): Promise<AlertOutcome> {
  const previous = inFlight.get(deps.store) ?? Promise.resolve();
  const run = previous.catch(() => undefined).then(() => evaluate(conditions, deps, settings));
  inFlight.set(deps.store, run);
  return run;
}

async function evaluate(
  conditions: readonly ActiveCondition[],
  deps: { store: ObjectStore; logger: Logger; clock: { now(): number }; signal?: AbortSignal },
  settings: MonitorSettings,
): Promise<AlertOutcome> {
  const outcome: AlertOutcome = { active: conditions.length, fired: 0, resolved: 0, failed: 0, lost: 0, skipped: 0 };
  const episodes = await readEpisodes(deps.store);
  const now = deps.clock.now();
  const send = async (key: string, message: AlertMessage): Promise<void> => {
    try {
      await deps.store.put(key, JSON.stringify(message) + '\n', JSON_PUT);
    } catch (err) {
      if (err instanceof PreconditionFailedError) {
        outcome.lost++;
        return;
      }
      throw err;
    }
    const sent = settings.alertUrl ? await sendAlertMessage(settings.alertUrl, message, settings.alertFormat, deps.signal) : true;
    if (sent) {
      if (message.status === 'firing') outcome.fired++;
      else outcome.resolved++;
      deps.logger.info({ function: 'spark-monitor', condition: message.condition, status: message.status, sent: Boolean(settings.alertUrl) }, message.title);
      return;
    }
    outcome.failed++;
    deps.logger.error({ function: 'spark-monitor', condition: message.condition, status: message.status }, 'the alert receiver did not take the alert; trying again next run');
    await deps.store.delete(key).catch((err: unknown) => deps.logger.error({ key, err: errorMessage(err) }, 'could not take back an unsent alert fact'));
  };

  const active = new Set<string>();
  for (const condition of conditions) {
    if (keySegmentProblem(condition.id)) {
      outcome.skipped++;
      continue;
    }
    active.add(condition.id);
    const known = episodes.get(condition.id);
    if (known?.open) continue;
    const episode = (known?.last ?? -1) + 1;
    await send(episodeKey(condition.id, episode, false), {
      source: 'spark-monitor',
      status: 'firing',
      condition: condition.id,
      title: condition.title,
      lines: condition.lines,
      ...(condition.link ? { link: condition.link } : {}),
      at: now,
    });
  }
  for (const [condition, known] of [...episodes].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (!known.open || active.has(condition)) continue;
    const [kind, , appId] = condition.split('~');
    const link = kind === 'stuck-app' && appId ? logLink(settings, appId) : undefined;
    await send(episodeKey(condition, known.last, true), {
      source: 'spark-monitor',
      status: 'resolved',
      condition,
      title: `resolved: ${condition.replace(/~/g, ' ')}`,
      lines: ['the condition no longer holds'],
      ...(link ? { link } : {}),
      at: now,
    });
  }
  return outcome;
}
