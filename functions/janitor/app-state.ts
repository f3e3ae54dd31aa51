import { errorMessage } from '../../shared/errors.js';
import type { AppObjects, KubeItem } from './inventory.js';
import { appIdProblem } from './kinds.js';
import type { JanitorSettings } from './settings.js';
import { parseTtl, type Ttl } from './ttl.js';

/** Per-app TTL, on the driver pod or the SparkApplication: `30m`, `6h`, `2d`, `forever`. */
export const TTL_ANNOTATION = 'sparkfn.io/ttl';
/** `"true"` opts an app (on its driver pod or SparkApplication) or one object out of cleaning. */
export const KEEP_ANNOTATION = 'sparkfn.io/keep';

const TERMINAL_POD_PHASES = new Set(['Succeeded', 'Failed']);
const TERMINAL_APP_STATES = new Set(['COMPLETED', 'FAILED']);

/** Where an app's TTL came from. */
export type TtlSource = 'annotation' | 'namespace' | 'default';

/** What janitor makes of one app. */
export type AppVerdict =
  | { state: 'running'; why: string }
  | { state: 'opted-out'; why: string }
  | { state: 'invalid'; why: string }
  | { state: 'finished'; finishedAt: number; ttl: Ttl; ttlSource: TtlSource }
  /** No driver pod or SparkApplication: `newestCreatedAt` is the creation time of its newest object. */
  | { state: 'orphaned'; newestCreatedAt: number };

function time(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

function describe(item: KubeItem, kind: string): string {
  return `${kind} ${item.metadata.namespace}/${item.metadata.name}`;
}

/** When a terminal driver pod ended: its containers' terminated times, else its last condition change. */
export function podEndTime(pod: KubeItem): number | undefined {
  const status = (pod.status ?? {}) as {
    containerStatuses?: { state?: { terminated?: { finishedAt?: string } } }[];
    conditions?: { lastTransitionTime?: string }[];
  };
  const ended = (status.containerStatuses ?? []).map((c) => time(c.state?.terminated?.finishedAt)).filter((t): t is number => t !== undefined);
  if (ended.length > 0) return Math.max(...ended);
  // An evicted or never-started driver has no terminated container state.
  const changed = (status.conditions ?? []).map((c) => time(c.lastTransitionTime)).filter((t): t is number => t !== undefined);
  return changed.length > 0 ? Math.max(...changed) : undefined;
}

/** Whether `item` says `sparkfn.io/keep: "true"`; throws on a value that is neither true nor false. */
export function keeps(item: KubeItem, kind: string): boolean {
  const value = item.metadata.annotations?.[KEEP_ANNOTATION];
  if (value === undefined) return false;
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new Error(`${describe(item, kind)} has ${KEEP_ANNOTATION}: ${JSON.stringify(value.slice(0, 40))}; write "true" or "false"`);
}

/** Every object of the app janitor would delete. */
export function labelledObjects(app: AppObjects): KubeItem[] {
  return [...app.executors, ...app.configmaps, ...app.services, ...app.ingresses, ...app.drivers];
}

/**
 * Judges one app from what the inventory found:
 * - `running` unless every driver pod is Succeeded/Failed and every SparkApplication COMPLETED/FAILED;
 * - `opted-out` when its driver pod or SparkApplication says `sparkfn.io/keep: "true"`;
 * - `invalid` for a bad annotation, app id or missing end time (reported, never guessed);
 * - `orphaned` when objects carry its id but there is no driver pod or SparkApplication;
 * - otherwise `finished`, with the end time and the TTL that applies (the longest annotation on
 *   driver or SparkApplication, else the namespace's, else the default).
 */
export function judgeApp(app: AppObjects, settings: JanitorSettings): AppVerdict {
  const idProblem = appIdProblem(app.appId);
  if (idProblem) return { state: 'invalid', why: `the ${JSON.stringify(app.appId.slice(0, 80))} in label spark-app-selector ${idProblem}` };
  const owners: [KubeItem, string][] = [...app.drivers.map((d) => [d, 'driver pod'] as [KubeItem, string]), ...app.sparkApps.map((s) => [s, 'SparkApplication'] as [KubeItem, string])];
  try {
    for (const [item, kind] of owners) if (keeps(item, kind)) return { state: 'opted-out', why: `${describe(item, kind)} has ${KEEP_ANNOTATION}: "true"` };
  } catch (err) {
    return { state: 'invalid', why: errorMessage(err) };
  }

  if (owners.length === 0) {
    const created = labelledObjects(app).map((o) => time(o.metadata.creationTimestamp));
    if (created.length === 0 || created.some((t) => t === undefined)) return { state: 'invalid', why: 'an object of the app has no creationTimestamp' };
    return { state: 'orphaned', newestCreatedAt: Math.max(...(created as number[])) };
  }

  const ends: number[] = [];
  for (const driver of app.drivers) {
    const phase = (driver.status as { phase?: string } | undefined)?.phase;
    if (!phase || !TERMINAL_POD_PHASES.has(phase)) return { state: 'running', why: `${describe(driver, 'driver pod')} is ${phase ?? 'without a phase'}` };
    const end = podEndTime(driver);
    if (end === undefined) return { state: 'invalid', why: `${describe(driver, 'driver pod')} is ${phase} but says nowhere when it ended` };
    ends.push(end);
  }
  for (const sparkApp of app.sparkApps) {
    const status = sparkApp.status as { applicationState?: { state?: string }; terminationTime?: string } | undefined;
    const state = status?.applicationState?.state;
    if (!state || !TERMINAL_APP_STATES.has(state)) return { state: 'running', why: `${describe(sparkApp, 'SparkApplication')} is ${state ?? 'without a state'}` };
    const end = time(status?.terminationTime);
    if (end !== undefined) ends.push(end);
  }
  if (ends.length === 0) return { state: 'invalid', why: 'the app finished but neither its driver pod nor its SparkApplication says when' };

  const annotated: Ttl[] = [];
  for (const [item, kind] of owners) {
    const value = item.metadata.annotations?.[TTL_ANNOTATION];
    if (value === undefined) continue;
    try {
      annotated.push(parseTtl(value, `annotation ${TTL_ANNOTATION} on ${describe(item, kind)}`));
    } catch (err) {
      return { state: 'invalid', why: errorMessage(err) };
    }
  }
  const finishedAt = Math.max(...ends);
  if (annotated.length > 0) {
    // Two owners that disagree: the longer TTL, so nothing goes sooner than someone asked.
    const ttl = annotated.includes('forever') ? 'forever' : Math.max(...(annotated as number[]));
    return { state: 'finished', finishedAt, ttl, ttlSource: 'annotation' };
  }
  const forNamespace = settings.namespaceTtls[app.namespace];
  if (forNamespace !== undefined) return { state: 'finished', finishedAt, ttl: forNamespace, ttlSource: 'namespace' };
  return { state: 'finished', finishedAt, ttl: settings.defaultTtl, ttlSource: 'default' };
}
