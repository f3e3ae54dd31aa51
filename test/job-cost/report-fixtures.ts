import type { ObjectStore } from '../../shared/store/object-store.js';
import { buildRecord, writeRecord, type CostRecord } from '../../functions/job-cost/cost-record.js';
import type { MergedApp, PodSpan } from '../../functions/job-cost/merge.js';
import type { PriceFile } from '../../functions/job-cost/price-file.js';

/**
 * Cost records with money worked out by hand from deploy/prices.example.yaml (region
 * cn-hangzhou: vCPU 0.00005 and GiB 0.000005 CNY a second, spot discount 0.7), so the report's
 * figures can be checked against arithmetic done here rather than by the code under test.
 * Every pod is a 2 vCPU / 4 GiB pod billed as `2-4Gi`: 0.00012 CNY a second, 0.432 an hour
 * on-demand, 0.1296 an hour at the expected spot price.
 */
export const HOUR_ON_DEMAND = 0.432;
export const HOUR_SPOT_EXPECTED = 0.1296;
/** SpotWithPriceLimit of one pod: below on-demand, so it is that pod's upper bound. */
export const PRICE_LIMIT_PER_HOUR = 0.3;

const HOUR = 3_600_000;

interface PodPlan {
  role?: 'driver' | 'executor';
  hours: number;
  spot?: boolean;
  degraded?: boolean;
  limit?: number;
  spec?: string;
}

export interface AppPlan {
  appId: string;
  appName?: string;
  team: string;
  /** The UTC day it ended. */
  day: string;
  pods: PodPlan[];
  incomplete?: boolean;
  /** Costed without a price file: `cost: null`. */
  unpriced?: boolean;
  /** By hand: driver + executors, spot at its upper bound (null when unpriced). */
  total: number | null;
  expected: number | null;
}

const od = (hours: number) => hours * HOUR_ON_DEMAND;

/** The bi team's eight small apps: a half-hour driver and one executor of 0.6 h × (i + 1). */
const bi: AppPlan[] = Array.from({ length: 8 }, (_, i) => ({
  appId: `spark-bi-${i}`,
  team: 'bi',
  day: `2026-01-${String(10 + (i % 7)).padStart(2, '0')}`,
  pods: [{ role: 'driver', hours: 0.5 }, { hours: 0.6 * (i + 1) }],
  total: od(0.5) + od(0.6 * (i + 1)),
  expected: od(0.5) + od(0.6 * (i + 1)),
}));

/** The period asked for in the tests: 2026-01-10 to 2026-01-16 (7 days). */
export const PERIOD = { from: '2026-01-10', to: '2026-01-16' };
/** The 7 days before it. */
export const PREVIOUS = { from: '2026-01-03', to: '2026-01-09' };

export const CURRENT_APPS: AppPlan[] = [
  { appId: 'spark-etl-1', appName: 'nightly-etl', team: 'etl', day: '2026-01-10', pods: [{ role: 'driver', hours: 1 }, { hours: 2 }, { hours: 2 }, { hours: 2 }, { hours: 2 }], total: od(9), expected: od(9) },
  {
    appId: 'spark-etl-2',
    team: 'etl',
    day: '2026-01-12',
    pods: [{ role: 'driver', hours: 1 }, { hours: 2, spot: true }, { hours: 2, spot: true }, { hours: 2, spot: true }],
    total: od(1) + od(6),
    expected: od(1) + 6 * HOUR_SPOT_EXPECTED,
  },
  {
    appId: 'spark-ml-1',
    team: 'ml',
    day: '2026-01-12',
    pods: [{ role: 'driver', hours: 1 }, { hours: 3, spot: true, degraded: true }, { hours: 3, spot: true, limit: PRICE_LIMIT_PER_HOUR }],
    total: od(1) + od(3) + 3 * PRICE_LIMIT_PER_HOUR,
    expected: od(1) + od(3) + 3 * HOUR_SPOT_EXPECTED,
  },
  { appId: 'spark-ml-2', team: 'ml', day: '2026-01-14', pods: [{ role: 'driver', hours: 1 }, { hours: 1 }], incomplete: true, total: od(2), expected: od(2) },
  { appId: 'spark-etl-3', team: 'etl', day: '2026-01-15', pods: [{ role: 'driver', hours: 1 }, { hours: 1, spec: 'ecs.unknown9.large' }], total: od(1), expected: od(1) },
  { appId: 'spark-web-1', appName: '<script>alert(1)</script>', team: '<b>web</b>', day: '2026-01-16', pods: [{ role: 'driver', hours: 1 }, { hours: 1 }], unpriced: true, total: null, expected: null },
  ...bi,
];

export const PREVIOUS_APPS: AppPlan[] = [
  { appId: 'spark-prev-1', team: 'etl', day: '2026-01-05', pods: [{ role: 'driver', hours: 1 }, { hours: 1 }, { hours: 1 }, { hours: 1 }, { hours: 1 }], total: od(5), expected: od(5) },
  { appId: 'spark-prev-2', team: 'ml', day: '2026-01-09', pods: [{ role: 'driver', hours: 1 }, { hours: 2 }, { hours: 2 }], total: od(5), expected: od(5) },
];

/** Outside both periods: must not count. */
export const OUTSIDE_APPS: AppPlan[] = [
  { appId: 'spark-old-1', team: 'etl', day: '2026-01-02', pods: [{ role: 'driver', hours: 10 }], total: od(10), expected: od(10) },
  { appId: 'spark-later-1', team: 'etl', day: '2026-01-17', pods: [{ role: 'driver', hours: 10 }], total: od(10), expected: od(10) },
];

function span(pod: PodPlan, i: number, end: number): PodSpan {
  const seconds = pod.hours * 3600;
  return {
    role: pod.role ?? 'executor',
    ...(pod.role === 'driver' ? {} : { executorId: String(i) }),
    start: end - seconds * 1000,
    end,
    seconds,
    requested: { vcpu: 2, gib: 4 },
    billedSpec: pod.spec ?? '2-4Gi',
    spot: pod.spot ?? false,
    degraded: pod.degraded ?? false,
    ...(pod.limit !== undefined ? { spotPriceLimitPerHour: pod.limit } : {}),
    reclaimed: false,
    lifetimeFrom: 'ledger',
    flags: [],
  };
}

/** The record job-cost would write for the plan (through buildRecord and the real pricing). */
export function planRecord(plan: AppPlan, prices: PriceFile): { record: CostRecord; endMs: number } {
  const endMs = Date.parse(`${plan.day}T12:00:00Z`);
  const pods = plan.pods.map((p, i) => span(p, i, endMs));
  const driver = pods.find((p) => p.role === 'driver');
  const longest = Math.max(...plan.pods.map((p) => p.hours));
  const app: MergedApp = {
    appId: plan.appId,
    ...(plan.appName ? { appName: plan.appName } : {}),
    namespace: 'spark-jobs',
    labels: { team: plan.team },
    start: endMs - longest * HOUR,
    end: endMs,
    incomplete: plan.incomplete ?? false,
    source: 'event-log+ledger',
    ...(driver ? { driver } : {}),
    executors: pods.filter((p) => p.role === 'executor'),
    anomalies: [],
    errors: [],
  };
  return { record: buildRecord(app, plan.unpriced ? undefined : prices, Date.parse('2026-01-20T00:00:00Z'), 'cn-hangzhou'), endMs };
}

/** Writes every plan's record where job-cost files it. */
export async function writePlans(store: ObjectStore, plans: AppPlan[], prices: PriceFile): Promise<void> {
  for (const plan of plans) {
    const { record, endMs } = planRecord(plan, prices);
    await writeRecord(store, record, endMs);
  }
}

/** Adds up what the plans say by hand. */
export const handTotal = (plans: AppPlan[], pick: 'total' | 'expected' = 'total') => plans.reduce((a, p) => a + (p[pick] ?? 0), 0);
