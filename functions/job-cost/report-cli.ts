import { writeFile } from 'node:fs/promises';
import { InvalidInputError } from '../../shared/errors.js';
import type { ObjectStore } from '../../shared/store/object-store.js';
import { formatTable } from '../../shared/cli/table.js';
import { buildReport, parseGroupBy, reportCells, reportCsv } from './report.js';
import { reportHtml } from './report-html.js';

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
}

/**
 * `sparkfn cost report`: aggregates the cost records of a period and prints them as a table,
 * CSV or JSON, or writes one self-contained HTML page.
 * @example await costReportCommand(store, { by: 'label:team', format: 'table' }, Date.now(), process.stdout.write.bind(process.stdout))
 */
export async function costReportCommand(store: ObjectStore, options: ReportCliOptions, now: number, out: (text: string) => void): Promise<void> {
  const format = options.format ?? 'table';
  if (!(REPORT_FORMATS as readonly string[]).includes(format)) throw new InvalidInputError(`--format must be one of ${REPORT_FORMATS.join(', ')}.`, 'bad-format');
  const to = options.to ?? new Date(now).toISOString().slice(0, 10);
  const from = options.from ?? new Date(Date.parse(`${to}T00:00:00Z`) - (DEFAULT_REPORT_DAYS - 1) * 86_400_000).toISOString().slice(0, 10);
  const report = await buildReport(store, { from, to, by: parseGroupBy(options.by ?? 'namespace') });
  if (format === 'json') return out(JSON.stringify(report, null, 2) + '\n');
  if (format === 'csv') return out(reportCsv(report));
  if (format === 'html') {
    const path = options.out ?? 'cost-report.html';
    await writeFile(path, reportHtml(report));
    return out(`wrote ${path} (${report.rows.length} group(s), ${report.from} to ${report.to})\n`);
  }
  const [header, ...rows] = reportCells(report);
  out(`Spark job cost by ${report.by}, ${report.from} to ${report.to} (spot at its upper bound)\n`);
  out((rows.length ? formatTable(header!, rows) : 'No cost records in this period.') + '\n');
  for (const problem of report.problems) out(`! ${problem}\n`);
}
