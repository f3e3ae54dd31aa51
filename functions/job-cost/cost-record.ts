import { assertKeySegment } from '../../shared/ids.js';
import type { AppResolution } from '../../shared/spark/app-identity.js';
import type { ObjectStore } from '../../shared/store/object-store.js';
import type { MergedApp, PodSpan, Source } from './merge.js';
import type { PriceFile } from './price-file.js';
import { pricePod, type PodPrice } from './pricing.js';

/** Root of the cost records (DESIGN.md: `costs/dt=<YYYY-MM-DD>/<namespace>/<appId>.json`). */
export const COSTS_PREFIX = 'costs/';
export const RECORD_SCHEMA = 1;

/** Money of one app; every figure in the price file's currency. */
export interface CostFigures {
  currency: string;
  /** driver + executors, spot at its upper bound. */
  total: number;
  /** driver + executors, spot at its expected price. */
  expected: number;
  driver: number;
  executors: number;
  onDemand: number;
  /** Spot share, upper bound. */
  spot: number;
  spotExpected: number;
}

/** One pod in a record. */
export interface PodCost {
  role: 'driver' | 'executor';
  executorId?: string;
  podName?: string;
  start: string;
  end: string;
  seconds: number;
  vcpu: number;
  gib: number;
  spec?: string;
  spot: boolean;
  degraded: boolean;
  reclaimed: boolean;
  lifetimeFrom: 'ledger' | 'event-log';
  /** The app attempt it belongs to, when the event log is named by attempt. */
  attempt?: string;
  onDemand?: number;
  spotUpper?: number;
  spotExpected?: number;
  flags?: string[];
  error?: string;
}

/** What `costs/dt=…/<namespace>/<appId>.json` holds. */
export interface CostRecord {
  schema: number;
  appId: string;
  /**
   * How the app id was found (shared/spark/app-identity.ts): `end-signal` (the signal carried
   * it), `pod-ledger`, `spark-application-status`, `driver-pod-labels` or `event-log-properties`.
   * Set by the handler; records written before it existed lack it.
   */
  resolvedBy?: AppResolution;
  appName?: string;
  namespace: string;
  labels: Record<string, string>;
  start?: string;
  end?: string;
  durationSeconds?: number;
  /** Executors seen (driver not counted). */
  executors: number;
  /** Executor figures (driver not counted): lifetimes, × requested vCPUs, × requested GiB. */
  executorSeconds: number;
  vcpuSeconds: number;
  gibSeconds: number;
  /** The driver's figures (every attempt's driver, added up, when there were several). */
  driver?: { seconds: number; vcpuSeconds: number; gibSeconds: number };
  cost: CostFigures | null;
  /** True when some of the money is spot, reported at its upper bound (`cost.spotExpected` beside it). */
  upperBound: boolean;
  incomplete: boolean;
  source: Source;
  /** Attempts costed (each ran and was billed), oldest first, when the event log is named by attempt. */
  attempts?: string[];
  pricingVersion: string | null;
  region: string | null;
  anomalies: string[];
  errors: string[];
  pods: PodCost[];
  computedAt: string;
}

const round = (n: number, digits = 6) => Math.round(n * 10 ** digits) / 10 ** digits;
const iso = (ms: number) => new Date(ms).toISOString();

/** The UTC date of an end time, as the `dt=` partition. */
export function partitionDate(ms: number): string {
  return iso(ms).slice(0, 10);
}

/**
 * The record's key: deterministic, so a duplicate end signal overwrites the same object.
 * @example recordKey('2026-01-02', 'spark-jobs', 'spark-1a2b') // 'costs/dt=2026-01-02/spark-jobs/spark-1a2b.json'
 */
export function recordKey(date: string, namespace: string, appId: string): string {
  return `${COSTS_PREFIX}dt=${date}/${assertKeySegment(namespace, 'namespace')}/${assertKeySegment(appId, 'app id')}.json`;
}

function podCost(span: PodSpan, price: PodPrice | string | undefined): PodCost {
  const base: PodCost = {
    role: span.role,
    ...(span.executorId !== undefined ? { executorId: span.executorId } : {}),
    ...(span.podName ? { podName: span.podName } : {}),
    start: iso(span.start),
    end: iso(span.end),
    seconds: round(span.seconds, 3),
    vcpu: span.requested.vcpu,
    gib: round(span.requested.gib),
    ...(span.billedSpec ? { spec: span.billedSpec } : {}),
    spot: span.spot,
    degraded: span.degraded,
    reclaimed: span.reclaimed,
    lifetimeFrom: span.lifetimeFrom,
    ...(span.attempt !== undefined ? { attempt: span.attempt } : {}),
    ...(span.flags.length ? { flags: span.flags } : {}),
  };
  if (price === undefined) return base;
  if (typeof price === 'string') return { ...base, error: price };
  return { ...base, spec: price.spec, onDemand: round(price.onDemand), spotUpper: round(price.spotUpper), spotExpected: round(price.spotExpected) };
}

/**
 * Prices a merged app into its record. Without a price file the record has resources and no
 * money (`cost: null`, an error saying why); a pod whose spec has no price carries the error and
 * is left out of the totals, which the record's `errors` say.
 */
export function buildRecord(app: MergedApp, prices: PriceFile | undefined, now: number, region?: string): CostRecord {
  const drivers = [...(app.earlierDrivers ?? []), ...(app.driver ? [app.driver] : [])];
  const spans = [...drivers, ...app.executors];
  const regionName = prices ? (region ?? prices.defaultRegion) : undefined;
  const errors = [...app.errors];
  if (!prices && spans.length > 0) errors.push('No price file is configured (SPARKFN_COST_PRICE_FILE): resources are recorded, money is not.');
  const priced = spans.map((span) => (prices ? pricePod(prices, regionName!, { seconds: span.seconds, requested: span.requested, spot: span.spot, degraded: span.degraded, ...(span.billedSpec ? { billedSpec: span.billedSpec } : {}), ...(span.spotPriceLimitPerHour !== undefined ? { spotPriceLimitPerHour: span.spotPriceLimitPerHour } : {}) }) : undefined));
  const pods = spans.map((span, i) => podCost(span, priced[i]));
  for (const pod of pods) if (pod.error) errors.push(`${pod.role === 'driver' ? 'Driver' : `Executor ${pod.executorId}`}: ${pod.error}; its cost is not in the totals.`);

  let cost: CostFigures | null = null;
  if (prices && spans.length > 0) {
    const sum = (pick: (p: PodCost) => number, role?: PodCost['role']) => round(pods.filter((p) => !role || p.role === role).reduce((acc, p) => acc + pick(p), 0));
    const upper = (p: PodCost) => (p.onDemand ?? 0) + (p.spotUpper ?? 0);
    cost = {
      currency: prices.currency,
      total: sum(upper),
      expected: sum((p) => (p.onDemand ?? 0) + (p.spotExpected ?? 0)),
      driver: sum(upper, 'driver'),
      executors: sum(upper, 'executor'),
      onDemand: sum((p) => p.onDemand ?? 0),
      spot: sum((p) => p.spotUpper ?? 0),
      spotExpected: sum((p) => p.spotExpected ?? 0),
    };
  }
  const executors = app.executors;
  return {
    schema: RECORD_SCHEMA,
    appId: app.appId,
    ...(app.appName ? { appName: app.appName } : {}),
    namespace: app.namespace,
    labels: app.labels,
    ...(app.start !== undefined ? { start: iso(app.start) } : {}),
    ...(app.end !== undefined ? { end: iso(app.end) } : {}),
    ...(app.start !== undefined && app.end !== undefined ? { durationSeconds: round(Math.max(0, app.end - app.start) / 1000, 3) } : {}),
    executors: executors.length,
    executorSeconds: round(executors.reduce((a, e) => a + e.seconds, 0), 3),
    vcpuSeconds: round(executors.reduce((a, e) => a + e.seconds * e.requested.vcpu, 0), 3),
    gibSeconds: round(executors.reduce((a, e) => a + e.seconds * e.requested.gib, 0), 3),
    ...(drivers.length > 0 ? { driver: { seconds: round(drivers.reduce((a, d) => a + d.seconds, 0), 3), vcpuSeconds: round(drivers.reduce((a, d) => a + d.seconds * d.requested.vcpu, 0), 3), gibSeconds: round(drivers.reduce((a, d) => a + d.seconds * d.requested.gib, 0), 3) } } : {}),
    cost,
    upperBound: cost !== null && cost.spot > 0,
    incomplete: app.incomplete,
    source: app.source,
    ...(app.attempts ? { attempts: app.attempts } : {}),
    pricingVersion: prices?.version ?? null,
    region: regionName ?? null,
    anomalies: app.anomalies,
    errors,
    pods,
    computedAt: iso(now),
  };
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Writes the record at its key and removes a copy of the same app under the day before or
 * after (a first signal can date the end differently from a later, better-informed one), so
 * one app has one record. Returns the key.
 */
export async function writeRecord(store: ObjectStore, record: CostRecord, endMs: number): Promise<string> {
  const key = recordKey(partitionDate(endMs), record.namespace, record.appId);
  await store.put(key, JSON.stringify(record, null, 2) + '\n', { contentType: 'application/json' });
  const neighbours = [endMs - DAY_MS, endMs + DAY_MS].map((t) => recordKey(partitionDate(t), record.namespace, record.appId));
  const stale = (await Promise.all(neighbours.map(async (k) => ((await store.head(k)) ? k : undefined)))).filter((k): k is string => k !== undefined);
  if (stale.length > 0) await store.deleteMany(stale);
  return key;
}
