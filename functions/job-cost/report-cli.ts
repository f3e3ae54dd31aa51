import { writeFile } from 'node:fs/promises';
import { UsageError } from '../../shared/errors.js';
import { asUsage } from '../../shared/as-usage.js';
import type { ObjectStore } from '../../shared/store/object-store.js';
import { formatTable } from '../../shared/text/table.js';
import { buildReport, parseGroupBy, reportCells, reportCsv } from './report.js';
import { reportHtml } from './report-html.js';
import { buildCostPage } from './report-model.js';
import { loadPriceFile } from './price-file.js';

/** How many days `cost report` covers when --from is not given. */
export const DEFAULT_REPORT_DAYS = 30;
export const REPORT_FORMATS = ['table', 'csv', 'json', 'html'] as const;

export interface ReportCliOptions {
  from?: string;
  to?: string;
  by?: string;
  format?: string;
  /** Where the html page goes (default cost-report.html). */
  out?: string;
  /** log-viewer's base URL for the page's log links (relative `logs/<appId>` without it). */
  logsUrl?: string;
  /** The price file (SPARKFN_COST_PRICE_FILE), to price the spot pods on-demand for the page's savings. */
  priceFile?: string;
}

/**
 * `sparkfn cost report`: aggregates the cost records of a period and prints them as a table,
 * CSV or JSON, or writes one self-contained HTML page. Bad options (a day that is not one,
 * --from after --to, an unknown --by or --format) throw UsageError, before the store is read.
 * @example await costReportCommand(store, { by: 'label:team', format: 'table' }, Date.now(), process.stdout.write.bind(process.stdout))
 */
export async function costReportCommand(store: ObjectStore, options: ReportCliOptions, now: number, out: (text: string) => void): Promise<void> {
  const format = options.format ?? 'table';
  if (!(REPORT_FORMATS as readonly string[]).includes(format)) throw new UsageError(`-o (--format) takes one of ${REPORT_FORMATS.join(', ')}, not ${JSON.stringify(format)}.`, 'bad-format');
  const to = options.to === undefined ? new Date(now).toISOString().slice(0, 10) : calendarDay(options.to, '--to');
  const from = options.from === undefined ? new Date(Date.parse(`${to}T00:00:00Z`) - (DEFAULT_REPORT_DAYS - 1) * 86_400_000).toISOString().slice(0, 10) : calendarDay(options.from, '--from');
  if (from > to) throw new UsageError(`--from ${from} is after --to ${to}; the period would be empty.`, 'bad-period');
  const by = asUsage(() => parseGroupBy(options.by ?? 'namespace'));
  if (format === 'html') {
    const path = options.out ?? 'cost-report.html';
    const logViewerBase = options.logsUrl === undefined ? undefined : logsBase(options.logsUrl);
    const prices = options.priceFile ? await loadPriceFile(options.priceFile) : undefined;
    const model = await buildCostPage(store, { from, to, by, ...(prices ? { prices } : {}), ...(logViewerBase ? { logViewerBase } : {}) });
    await writeFile(path, reportHtml(model));
    return out(`wrote ${path} (${model.rows.length} app(s), ${from} to ${to})\n`);
  }
  const report = await buildReport(store, { from, to, by });
  // The fields of functions/job-cost/report-schema.ts (README.md documents them).
  if (format === 'json') return out(JSON.stringify(report, null, 2) + '\n');
  if (format === 'csv') return out(reportCsv(report));
  const [header, ...rows] = reportCells(report);
  out(`Spark job cost by ${report.by}, ${report.from} to ${report.to} (spot at its upper bound)\n`);
  out((rows.length ? formatTable(header!, rows) : `No cost records from ${report.from} to ${report.to}; widen the period with --from.`) + '\n');
  for (const problem of report.problems) out(`! ${problem}\n`);
}

/** `value` when it is a day of the calendar as YYYY-MM-DD (2026-02-28, not 2026-02-30 or 2026-13-01); UsageError otherwise. */
export function calendarDay(value: string, option: string): string {
  const ms = /^\d{4}-\d{2}-\d{2}$/.test(value) ? Date.parse(`${value}T00:00:00Z`) : NaN;
  // Date.parse rolls 2026-02-30 over to March; only a day that reads back the same is one.
  if (!Number.isFinite(ms) || new Date(ms).toISOString().slice(0, 10) !== value) {
    throw new UsageError(`${option} must be a day as YYYY-MM-DD, such as 2026-03-31; ${JSON.stringify(value)} is not one.`, 'bad-day');
  }
  return value;
}

/** `--logs-url`: log-viewer's base, an http(s) URL or an absolute path (`/sparkfn`); UsageError otherwise. */
export function logsBase(value: string): string {
  let ok = value.startsWith('/') && !value.startsWith('//');
  try {
    ok ||= ['http:', 'https:'].includes(new URL(value).protocol);
  } catch {
    // not a URL: only a path will do
  }
  if (!ok) throw new UsageError(`--logs-url must be log-viewer's base URL, such as https://logs.example.com, or a path such as /sparkfn; ${JSON.stringify(value)} is not one.`, 'bad-logs-url');
  return value;
}
