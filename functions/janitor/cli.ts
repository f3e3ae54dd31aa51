import type { KubeConfig } from '@kubernetes/client-node';
import { formatTable } from '../../shared/text/table.js';
import type { Deps } from '../../shared/deps.js';
import { cleanUp, type JanitorReport } from './clean-up.js';
import { settingsFromEnvironment, type JanitorSettings } from './settings.js';

/** What `sparkfn janitor [--dry-run] [--namespace …]` asks for. */
export interface JanitorCliOptions {
  dryRun?: boolean;
  namespaces?: string[];
  /** `table` for people (default), `json` for programs (functions/janitor/report-schema.ts). */
  output?: 'table' | 'json';
}

/** The report as people read it: one row per app and kind, then the run's counters. */
export function formatReport(report: JanitorReport): string {
  const { summary, audit } = report;
  const rows: string[][] = [];
  for (const app of audit.apps) {
    for (const kind of app.kinds) {
      const names = kind.deleted.length <= 3 ? kind.deleted.join(', ') : `${kind.deleted.slice(0, 2).join(', ')} … (+${kind.deleted.length - 2})`;
      rows.push([
        app.namespace,
        app.appId,
        app.state === 'orphaned' ? 'orphaned' : `finished, ttl ${app.ttl} (${app.ttlSource})`,
        kind.kind,
        kind.method,
        String(kind.deleted.length),
        kind.error ? `error: ${kind.error}` : names + (kind.kept.length ? ` (kept ${kind.kept.join(', ')})` : ''),
      ]);
    }
  }
  const verb = summary.dryRun ? 'would delete' : 'deleted';
  const lines = [
    `janitor ${summary.dryRun ? 'dry run (nothing deleted)' : 'run'} ${summary.runId}`,
    '',
    rows.length > 0 ? formatTable(['namespace', 'app', 'why', 'kind', 'how', 'objects', verb], rows) : audit.errors.length > 0 ? 'Nothing was cleaned, and the run failed: see the errors below.' : 'Nothing is due.',
    '',
    `apps: ${summary.apps} (running ${summary.running}, finished ${summary.finished}, orphaned ${summary.orphaned}, opted out ${summary.optedOut}, invalid ${summary.invalid})`,
    `due: ${summary.due}, cleaned ${summary.cleaned}, failed ${summary.failed}, left for the next run ${summary.deferred}${summary.stoppedEarly ? ' (deadline)' : ''}`,
    `objects ${verb}: ${summary.deleted}; API calls: ${summary.calls}${summary.fallbacks.length ? `; one by one for ${summary.fallbacks.join(', ')}` : ''}`,
    ...audit.skipped.map((s) => `skipped ${s.what}: ${s.reason}`),
    ...audit.errors.map((e) => `error: ${e}`),
    summary.auditKey ? `audit: ${summary.auditKey}` : 'audit: not written',
  ];
  return lines.join('\n') + '\n';
}

/**
 * `sparkfn janitor`: one run against the configured cluster with the environment's settings,
 * `--dry-run` and `--namespace` over them, printed as a table (or, with `output: 'json'`, as
 * the document janitorReportSchema describes). Resolves to the report.
 */
export async function runJanitorCli(options: JanitorCliOptions, deps: Deps & { kubeConfig: KubeConfig }, out: (text: string) => void, base: JanitorSettings = settingsFromEnvironment()): Promise<JanitorReport> {
  const settings: JanitorSettings = {
    ...base,
    ...(options.dryRun ? { dryRun: true } : {}),
    ...(options.namespaces && options.namespaces.length > 0 ? { namespaces: options.namespaces } : {}),
  };
  const report = await cleanUp(deps, settings);
  out(options.output === 'json' ? JSON.stringify(report, null, 2) + '\n' : formatReport(report));
  return report;
}

/**
 * Why the run counts as failed (exit 1), or undefined when it did its work: an app that could
 * not be cleaned, a list that failed (an apiserver that cannot be reached fails them all: then
 * nothing was judged, which is not "nothing is due"), or an audit record that was not written.
 */
export function janitorFailure(report: JanitorReport): string | undefined {
  const { summary, audit } = report;
  if (summary.failed === 0 && summary.errors === 0) return undefined;
  const parts = [
    ...(summary.failed > 0 ? [`${summary.failed} app(s) could not be cleaned`] : []),
    ...(summary.errors > summary.failed ? [`${summary.errors - summary.failed} other error(s), first: ${audit.errors.find((e) => !e.startsWith('app ')) ?? audit.errors[0]}`] : []),
  ];
  return `janitor: ${parts.join('; ')}.`;
}
