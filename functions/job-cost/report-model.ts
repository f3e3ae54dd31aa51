import type { ObjectStore } from '../../shared/store/object-store.js';
import type { CostRecord, PodCost } from './cost-record.js';
import type { PriceFile } from './price-file.js';
import { pricePod } from './pricing.js';
import { formatMoney } from './report-format.js';
import { addDays, daysBetween, readRecords, type DatedRecord } from './record-reader.js';
import type { GroupBy } from './report.js';

/** Money and resources of a set of records. Spot money at its upper bound in `total`, at its estimate in `expected`. */
export interface PeriodTotals {
  apps: number;
  total: number;
  expected: number;
  onDemand: number;
  spot: number;
  spotExpected: number;
  vcpuSeconds: number;
  gibSeconds: number;
  /** Apps with no money at all (`cost: null`). */
  unpriced: number;
}

/** The period's total against the one just before it. */
export interface PeriodChange {
  /** `total` minus the previous period's `total`. */
  total: number;
  /** That difference over the previous total; null when the previous period cost nothing. */
  ratio: number | null;
  expected: number;
  expectedRatio: number | null;
}

/** How one kind of capacity was used and billed; pod-seconds include drivers. */
export interface CapacityShare {
  podSeconds: number;
  /** Money at the upper bound (spot: on-demand price or limit). */
  cost: number;
  /** Money at the expected price (same as cost except for spot). */
  expected: number;
}

/** Spot, on-demand and spot that fell back to on-demand (ECI SpotDegraded), and what spot saved. */
export interface CapacityMix {
  onDemand: CapacityShare;
  spot: CapacityShare;
  /** Pods asked for spot and billed on-demand. */
  fallback: CapacityShare;
  /** Pods whose spec had no price, or records without a price file: seconds only. */
  unpriced: { podSeconds: number };
  /** What the spot pods would have cost on-demand. */
  spotAtOnDemand: number;
  /** `spotAtOnDemand` − spot at its expected price. */
  savedExpected: number;
  /** `spotAtOnDemand` − spot at its upper bound: what spot saved for certain (0 unless price limits were below on-demand). */
  savedAtLeast: number;
  /**
   * `price-file` when the spot pods were priced on-demand with the configured price file;
   * `upper-bound` when (some of) that came from the records' spot upper bound, which is the
   * on-demand price unless a price limit was lower, so the savings are then at least these.
   */
  spotAtOnDemandFrom: 'price-file' | 'upper-bound' | 'none';
}

/** Why a record is flagged. */
export interface RecordFlag {
  kind: 'upper-bound' | 'incomplete' | 'unpriced' | 'errors' | 'anomalies';
  reason: string;
}

/** One app of the period, as the page's table and CSV show it. */
export interface AppRow {
  day: string;
  namespace: string;
  appId: string;
  appName: string | null;
  group: string;
  start: string | null;
  end: string | null;
  durationSeconds: number | null;
  executors: number;
  vcpuSeconds: number;
  gibSeconds: number;
  /** null when the record has no money. */
  total: number | null;
  expected: number | null;
  onDemand: number | null;
  spot: number | null;
  spotExpected: number | null;
  currency: string | null;
  flags: RecordFlag[];
  /** The app's page in log-viewer. */
  logsUrl: string;
}

/** Everything the HTML report shows, computed from the records alone. */
export interface CostPageModel {
  from: string;
  to: string;
  previous: { from: string; to: string };
  /** `namespace`, `day` or `label:<key>`. */
  by: string;
  /** What a group is called on the page (`team` for label:team). */
  groupTitle: string;
  /** The one currency of the records; null when none has money or when they are in several. */
  currency: string | null;
  totals: PeriodTotals;
  previousTotals: PeriodTotals;
  change: PeriodChange;
  /** Every day of the period and, per day, money (upper bound) per group (same order as `groups`). */
  days: string[];
  groups: string[];
  daily: number[][];
  mix: CapacityMix;
  /** The costliest apps, most expensive first. */
  top: AppRow[];
  /** Every app of the period, most expensive first. */
  rows: AppRow[];
  /** Sentences about what could not be read or added up. */
  problems: string[];
}

export interface PageOptions {
  from: string;
  to: string;
  by: GroupBy;
  /** To price spot pods on-demand for the savings; without it the records' upper bound stands in. */
  prices?: PriceFile;
  /** log-viewer's base URL (`https://logs.example.com`); links are relative (`logs/<appId>`) without it. */
  logViewerBase?: string;
}

/** How many apps the "costliest" list shows. */
export const TOP_APPS = 10;
/** Groups drawn each in a colour of their own; the rest are added up as "other" so the chart stays legible. */
export const MAX_CHART_GROUPS = 8;
export const OTHER_GROUP = 'other';
export const NO_LABEL = '(no label)';

const round = (n: number) => Math.round(n * 1e6) / 1e6;
const sum = (values: number[]) => round(values.reduce((a, b) => a + b, 0));

function groupOf(record: CostRecord, day: string, by: GroupBy): string {
  if (by.kind === 'namespace') return record.namespace;
  if (by.kind === 'day') return day;
  return record.labels?.[by.key] ?? NO_LABEL;
}

function incompleteReason(record: CostRecord): string {
  if (record.source === 'none') return 'neither an event log nor ledger entries were found: nothing was costed';
  const open = (record.pods ?? []).filter((p) => p.flags?.includes('no-end')).length;
  if (open > 0) return `${open} pod(s) have no end time: their lifetimes end at the last event seen`;
  return 'the event log stops before the app ended (in progress or cut off): executors still running end at its last event';
}

/** Why a record should be read with care: each flag with its reason, as sentences. */
export function recordFlags(record: CostRecord): RecordFlag[] {
  const flags: RecordFlag[] = [];
  const errors = record.errors ?? [];
  const unpricedPods = (record.pods ?? []).filter((p) => p.error).length;
  const unpriced = !record.cost || unpricedPods > 0;
  // buildRecord words a missing price file, and a pod it could not price, this way.
  const priceErrors = unpriced ? errors.filter((e) => /price|not in the totals/i.test(e)) : [];
  if (unpriced) flags.push({ kind: 'unpriced', reason: priceErrors.join(' ') || (record.cost ? `${unpricedPods} pod(s) have no price and are not in the totals` : 'the record has no money') });
  if (record.upperBound && record.cost) flags.push({ kind: 'upper-bound', reason: `spot money is at its upper bound, ${formatMoney(record.cost.spot, record.cost.currency)}; at the expected spot price it is ${formatMoney(record.cost.spotExpected, record.cost.currency)}` });
  if (record.incomplete) flags.push({ kind: 'incomplete', reason: incompleteReason(record) });
  const unlisted = errors.filter((e) => !priceErrors.includes(e));
  if (unlisted.length > 0) flags.push({ kind: 'errors', reason: unlisted.join(' ') });
  if ((record.anomalies ?? []).length > 0) flags.push({ kind: 'anomalies', reason: (record.anomalies ?? []).join(', ') });
  return flags;
}

function totalsOf(records: DatedRecord[]): PeriodTotals {
  const costed = records.map((r) => r.record.cost).filter((c) => c !== null && c !== undefined);
  return {
    apps: records.length,
    total: sum(costed.map((c) => c.total)),
    expected: sum(costed.map((c) => c.expected)),
    onDemand: sum(costed.map((c) => c.onDemand)),
    spot: sum(costed.map((c) => c.spot)),
    spotExpected: sum(costed.map((c) => c.spotExpected)),
    vcpuSeconds: sum(records.map(({ record }) => (record.vcpuSeconds ?? 0) + (record.driver?.vcpuSeconds ?? 0))),
    gibSeconds: sum(records.map(({ record }) => (record.gibSeconds ?? 0) + (record.driver?.gibSeconds ?? 0))),
    unpriced: records.length - costed.length,
  };
}

const ratio = (now: number, before: number) => (before > 0 ? round((now - before) / before) : null);

/** What a spot pod would have cost on-demand: repriced with the price file, else its upper bound. */
function onDemandPrice(pod: PodCost, record: CostRecord, prices: PriceFile | undefined): { money: number; from: 'price-file' | 'upper-bound' } {
  if (prices && pod.spec) {
    const region = record.region ?? prices.defaultRegion;
    const price = pricePod(prices, region, { seconds: pod.seconds, requested: { vcpu: pod.vcpu, gib: pod.gib }, billedSpec: pod.spec, spot: false, degraded: false });
    if (typeof price !== 'string') return { money: price.onDemand, from: 'price-file' };
  }
  return { money: pod.spotUpper ?? 0, from: 'upper-bound' };
}

function mixOf(records: DatedRecord[], prices: PriceFile | undefined): CapacityMix {
  const share = (): CapacityShare => ({ podSeconds: 0, cost: 0, expected: 0 });
  const mix = { onDemand: share(), spot: share(), fallback: share(), unpriced: { podSeconds: 0 } };
  let spotAtOnDemand = 0;
  const sources = new Set<'price-file' | 'upper-bound'>();
  for (const { record } of records) {
    for (const pod of record.pods ?? []) {
      const priced = record.cost && !pod.error && (pod.onDemand !== undefined || pod.spotUpper !== undefined);
      if (!priced) {
        mix.unpriced.podSeconds += pod.seconds;
        continue;
      }
      const target = !pod.spot ? mix.onDemand : pod.degraded ? mix.fallback : mix.spot;
      target.podSeconds += pod.seconds;
      if (target === mix.spot) {
        target.cost += pod.spotUpper ?? 0;
        target.expected += pod.spotExpected ?? 0;
        const price = onDemandPrice(pod, record, prices);
        spotAtOnDemand += price.money;
        sources.add(price.from);
      } else {
        target.cost += pod.onDemand ?? 0;
        target.expected += pod.onDemand ?? 0;
      }
    }
  }
  const fix = (s: CapacityShare): CapacityShare => ({ podSeconds: round(s.podSeconds), cost: round(s.cost), expected: round(s.expected) });
  return {
    onDemand: fix(mix.onDemand),
    spot: fix(mix.spot),
    fallback: fix(mix.fallback),
    unpriced: { podSeconds: round(mix.unpriced.podSeconds) },
    spotAtOnDemand: round(spotAtOnDemand),
    savedExpected: round(spotAtOnDemand - mix.spot.expected),
    savedAtLeast: round(spotAtOnDemand - mix.spot.cost),
    spotAtOnDemandFrom: sources.size === 0 ? 'none' : sources.has('upper-bound') ? 'upper-bound' : 'price-file',
  };
}

/** log-viewer's page of an app: `GET <base>/logs/<appId>` (functions/log-viewer/README.md). */
export function logsUrl(appId: string, base?: string): string {
  const path = `logs/${encodeURIComponent(appId)}`;
  return base ? `${base.replace(/\/+$/, '')}/${path}` : path;
}

function appRow(dated: DatedRecord, group: string, base: string | undefined): AppRow {
  const { record, day } = dated;
  const cost = record.cost ?? null;
  return {
    day,
    namespace: record.namespace,
    appId: record.appId,
    appName: record.appName ?? null,
    group,
    start: record.start ?? null,
    end: record.end ?? null,
    durationSeconds: record.durationSeconds ?? null,
    executors: record.executors ?? 0,
    vcpuSeconds: round((record.vcpuSeconds ?? 0) + (record.driver?.vcpuSeconds ?? 0)),
    gibSeconds: round((record.gibSeconds ?? 0) + (record.driver?.gibSeconds ?? 0)),
    total: cost?.total ?? null,
    expected: cost?.expected ?? null,
    onDemand: cost?.onDemand ?? null,
    spot: cost?.spot ?? null,
    spotExpected: cost?.spotExpected ?? null,
    currency: cost?.currency ?? null,
    flags: recordFlags(record),
    logsUrl: logsUrl(record.appId, base),
  };
}

/** The period just before `from`..`to`, of the same number of days. */
export function previousPeriod(from: string, to: string): { from: string; to: string } {
  const length = daysBetween(from, to).length;
  return { from: addDays(from, -length), to: addDays(from, -1) };
}

/**
 * The report's numbers from the records of the period and of the period before it. Pure: the
 * same records give the same model, whatever order they come in.
 * @example costPageModel(current, previous, { from: '2026-01-01', to: '2026-01-31', by: { kind: 'label', key: 'team' } })
 */
export function costPageModel(current: DatedRecord[], previous: DatedRecord[], options: PageOptions, problems: string[] = []): CostPageModel {
  const { from, to, by } = options;
  const rows = current
    .map((r) => appRow(r, groupOf(r.record, r.day, by), options.logViewerBase))
    .sort((a, b) => (b.total ?? -1) - (a.total ?? -1) || a.day.localeCompare(b.day) || a.appId.localeCompare(b.appId) || a.namespace.localeCompare(b.namespace));
  const currencies = [...new Set([...current, ...previous].map((r) => r.record.cost?.currency).filter((c): c is string => typeof c === 'string'))].sort();
  const allProblems = [...problems];
  if (currencies.length > 1) allProblems.push(`Records are in several currencies (${currencies.join(', ')}); totals add them as they are.`);

  const totals = totalsOf(current);
  const previousTotals = totalsOf(previous);
  const days = daysBetween(from, to);
  const byGroup = new Map<string, number>();
  for (const row of rows) byGroup.set(row.group, (byGroup.get(row.group) ?? 0) + (row.total ?? 0));
  const ranked = [...byGroup.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([g]) => g);
  const chartGroups = by.kind === 'day' ? (rows.length ? ['all'] : []) : ranked.length > MAX_CHART_GROUPS ? [...ranked.slice(0, MAX_CHART_GROUPS - 1), OTHER_GROUP] : ranked;
  const seriesOf = (group: string) => (by.kind === 'day' ? 0 : chartGroups.includes(group) ? chartGroups.indexOf(group) : chartGroups.length - 1);
  const daily = days.map(() => chartGroups.map(() => 0));
  const dayIndex = new Map(days.map((d, i) => [d, i]));
  for (const row of rows) {
    const i = dayIndex.get(row.day);
    if (i !== undefined && row.total !== null) daily[i]![seriesOf(row.group)]! += row.total;
  }
  return {
    from,
    to,
    previous: previousPeriod(from, to),
    by: by.kind === 'label' ? `label:${by.key}` : by.kind,
    groupTitle: by.kind === 'label' ? by.key : by.kind,
    currency: currencies.length === 1 ? currencies[0]! : null,
    totals,
    previousTotals,
    change: {
      total: round(totals.total - previousTotals.total),
      ratio: ratio(totals.total, previousTotals.total),
      expected: round(totals.expected - previousTotals.expected),
      expectedRatio: ratio(totals.expected, previousTotals.expected),
    },
    days,
    groups: chartGroups,
    daily: daily.map((values) => values.map(round)),
    mix: mixOf(current, options.prices),
    top: rows.filter((r) => r.total !== null).slice(0, TOP_APPS),
    rows,
    problems: allProblems,
  };
}

/**
 * Reads the period's records and those of the period before it (same length, just before) and
 * builds the model.
 */
export async function buildCostPage(store: ObjectStore, options: PageOptions): Promise<CostPageModel> {
  const before = previousPeriod(options.from, options.to);
  const [current, previous] = await Promise.all([readRecords(store, options.from, options.to), readRecords(store, before.from, before.to)]);
  return costPageModel(current.records, previous.records, options, [...current.problems, ...previous.problems.map((p) => `previous period: ${p}`)]);
}

/** The CSV columns of the page's table, one row per app. */
export const APP_CSV_COLUMNS = ['day', 'namespace', 'appId', 'appName', 'group', 'start', 'end', 'durationSeconds', 'executors', 'vcpuSeconds', 'gibSeconds', 'total', 'expected', 'onDemand', 'spot', 'spotExpected', 'currency', 'flags'] as const;

/** RFC 4180 CSV of the apps (the page's table and its download), with plain numbers. */
export function appRowsCsv(model: CostPageModel): string {
  const quote = (cell: string) => (/[",\n\r]/.test(cell) ? `"${cell.replace(/"/g, '""')}"` : cell);
  const cell = (row: AppRow, column: (typeof APP_CSV_COLUMNS)[number]): string => {
    if (column === 'group') return row.group;
    if (column === 'flags') return row.flags.map((f) => f.kind).join(' ');
    const value = row[column];
    return value === null ? '' : String(value);
  };
  const groupHeader = (APP_CSV_COLUMNS as readonly string[]).includes(model.groupTitle) ? 'group' : model.groupTitle;
  const header = APP_CSV_COLUMNS.map((c) => (c === 'group' ? groupHeader : c));
  return [header, ...model.rows.map((row) => APP_CSV_COLUMNS.map((c) => cell(row, c)))].map((r) => r.map(quote).join(',')).join('\n') + '\n';
}
