import { errorMessage, InvalidInputError } from '../../shared/errors.js';
import { getBuffer, listAll } from '../../shared/store/read.js';
import type { ObjectStore } from '../../shared/store/object-store.js';
import { COSTS_PREFIX, type CostRecord } from './cost-record.js';

/** How `cost report` groups records. */
export type GroupBy = { kind: 'namespace' } | { kind: 'day' } | { kind: 'label'; key: string };

/** One row of a report: a group on one day, or a group over the whole period. */
export interface ReportRow {
  group: string;
  apps: number;
  vcpuSeconds: number;
  gibSeconds: number;
  /** Spot at its upper bound. */
  total: number;
  expected: number;
  onDemand: number;
  spot: number;
  /** Apps whose records say some money is missing (no price for a spec, no price file…). */
  withErrors: number;
  incomplete: number;
}

export interface CostReport {
  from: string;
  to: string;
  by: string;
  currency: string | null;
  rows: ReportRow[];
  /** Per day and group, for the chart. */
  daily: { day: string; group: string; total: number }[];
  /** Sentences: records that carry errors, unreadable records. */
  problems: string[];
}

/** Reads `namespace`, `day` or `label:<key>`. */
export function parseGroupBy(value: string): GroupBy {
  if (value === 'namespace' || value === 'day') return { kind: value };
  const match = /^label:(.+)$/.exec(value);
  if (match) return { kind: 'label', key: match[1]! };
  throw new InvalidInputError(`--by must be namespace, day or label:<key>, not ${JSON.stringify(value)}.`, 'bad-group');
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;
const round = (n: number) => Math.round(n * 1e6) / 1e6;

/**
 * Aggregates the records of days `from` to `to` (inclusive, YYYY-MM-DD) by group. Spot money is
 * at its upper bound in `total`, at its estimate in `expected`.
 */
export async function buildReport(store: ObjectStore, options: { from: string; to: string; by: GroupBy }): Promise<CostReport> {
  const { from, to, by } = options;
  if (!DAY.test(from) || !DAY.test(to)) throw new InvalidInputError('--from and --to are days: YYYY-MM-DD.', 'bad-date');
  const rows = new Map<string, ReportRow>();
  const daily = new Map<string, { day: string; group: string; total: number }>();
  const problems: string[] = [];
  const currencies = new Set<string>();
  for await (const object of listAll(store, `${COSTS_PREFIX}dt=`)) {
    const day = /^costs\/dt=(\d{4}-\d{2}-\d{2})\//.exec(object.key)?.[1];
    if (!day || day < from || day > to || !object.key.endsWith('.json')) continue;
    let record: CostRecord;
    try {
      record = JSON.parse((await getBuffer(store, object.key)).toString('utf8')) as CostRecord;
    } catch (err) {
      problems.push(`${object.key} is not readable: ${errorMessage(err)}`);
      continue;
    }
    const group = by.kind === 'namespace' ? record.namespace : by.kind === 'day' ? day : (record.labels?.[by.key] ?? '(no label)');
    const row = rows.get(group) ?? { group, apps: 0, vcpuSeconds: 0, gibSeconds: 0, total: 0, expected: 0, onDemand: 0, spot: 0, withErrors: 0, incomplete: 0 };
    row.apps++;
    row.vcpuSeconds += record.vcpuSeconds + (record.driver?.vcpuSeconds ?? 0);
    row.gibSeconds += record.gibSeconds + (record.driver?.gibSeconds ?? 0);
    if (record.cost) {
      currencies.add(record.cost.currency);
      row.total += record.cost.total;
      row.expected += record.cost.expected;
      row.onDemand += record.cost.onDemand;
      row.spot += record.cost.spot;
    }
    if (record.errors.length > 0) {
      row.withErrors++;
      problems.push(`${record.namespace}/${record.appId}: ${record.errors.join(' ')}`);
    }
    if (record.incomplete) row.incomplete++;
    rows.set(group, row);
    const d = daily.get(`${day}\u0000${group}`) ?? { day, group, total: 0 };
    d.total += record.cost?.total ?? 0;
    daily.set(`${day}\u0000${group}`, d);
  }
  if (currencies.size > 1) problems.push(`Records are in several currencies (${[...currencies].join(', ')}); totals add them as they are.`);
  const finished = [...rows.values()]
    .map((r) => ({ ...r, vcpuSeconds: round(r.vcpuSeconds), gibSeconds: round(r.gibSeconds), total: round(r.total), expected: round(r.expected), onDemand: round(r.onDemand), spot: round(r.spot) }))
    .sort((a, b) => b.total - a.total || a.group.localeCompare(b.group));
  return {
    from,
    to,
    by: by.kind === 'label' ? `label:${by.key}` : by.kind,
    currency: currencies.size === 1 ? [...currencies][0]! : null,
    rows: finished,
    daily: [...daily.values()].map((d) => ({ ...d, total: round(d.total) })).sort((a, b) => a.day.localeCompare(b.day) || a.group.localeCompare(b.group)),
    problems,
  };
}

const money = (n: number) => n.toFixed(4);

/** The report's rows as table cells (header first), shared by the table and CSV formats. */
export function reportCells(report: CostReport): string[][] {
  const header = [report.by, 'apps', 'vCPU-s', 'GiB-s', `total${report.currency ? ` (${report.currency})` : ''}`, 'expected', 'on-demand', 'spot (upper)', 'errors', 'incomplete'];
  return [
    header,
    ...report.rows.map((r) => [r.group, String(r.apps), r.vcpuSeconds.toFixed(1), r.gibSeconds.toFixed(1), money(r.total), money(r.expected), money(r.onDemand), money(r.spot), String(r.withErrors), String(r.incomplete)]),
  ];
}

/** RFC 4180 CSV. */
export function reportCsv(report: CostReport): string {
  const quote = (cell: string) => (/[",\n]/.test(cell) ? `"${cell.replace(/"/g, '""')}"` : cell);
  return reportCells(report).map((row) => row.map(quote).join(',')).join('\n') + '\n';
}
