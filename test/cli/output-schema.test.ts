import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSparkfn } from '../support/run-cli.js';
import { doctorReportSchema } from '../../app/cli/doctor-schema.js';
import { costReportSchema } from '../../functions/job-cost/report-schema.js';
import { janitorReportSchema } from '../../functions/janitor/report-schema.js';
import { appListingSchema } from '../../functions/log-viewer/listing-schema.js';
import { monitorViewSchema } from '../../functions/spark-monitor/view-schema.js';
import { startTestApiserver, type TestApiserver } from '../support/apiserver/index.js';
import { appObjects, HOUR } from '../janitor/cluster.js';

/** The app of events/ whose logs the demo archives. */
const DEMO_LOG_APP = 'spark-4f9c2e7a1b3d4c5e8f6a7b8c9d0e1f2a';

let dir: string;
let apiserver: TestApiserver;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sparkfn-output-'));
  apiserver = await startTestApiserver();
  // The demo fills the store with what the listing commands read: a priced cost record, archived logs.
  const demo = await sparkfn(['demo']);
  if (demo.code !== 0) throw new Error(`the demo failed: ${demo.err}`);
}, 120_000);
afterAll(async () => {
  await apiserver.stop();
  await rm(dir, { recursive: true, force: true });
});

function sparkfn(args: string[], env: NodeJS.ProcessEnv = {}) {
  return runSparkfn(dir, args, env);
}

/** Runs a command with -o json and parses its whole standard output as one document. */
async function json(args: string[], env: NodeJS.ProcessEnv = {}) {
  const result = await sparkfn([...args, '-o', 'json'], env);
  return { ...result, document: JSON.parse(result.out) as unknown };
}

describe('-o json: each command prints one document that its schema (README.md, "Output for programs") accepts', () => {
  it('cost report: the demo record as a row of namespace spark-demo, with money', async () => {
    const { code, document } = await json(['cost', 'report']);
    expect(code).toBe(0);
    const report = costReportSchema.parse(document);
    const demo = report.rows.find((r) => r.group === 'spark-demo');
    expect(demo?.apps).toBe(1);
    expect(demo?.total).toBeGreaterThan(0);
    expect(report.currency).toBe('CNY');
  });

  it('logs <appId>: the executors and streams the demo archived', async () => {
    const { code, document } = await json(['logs', DEMO_LOG_APP]);
    expect(code).toBe(0);
    const listing = appListingSchema.parse(document);
    expect(listing.appId).toBe(DEMO_LOG_APP);
    expect(listing.executors.map((e) => e.executorId)).toEqual(['driver', '1', '2']);
    expect(listing.executors.flatMap((e) => e.streams).every((s) => s.storedBytes > 0)).toBe(true);
  });

  it('logs <appId> <executorId>: -o is refused, a log prints as text (exit 2)', async () => {
    const { code, err } = await sparkfn(['logs', DEMO_LOG_APP, '1', '-o', 'json']);
    expect(code).toBe(2);
    expect(err).toMatch(/-o applies to the listing of an app/);
  });

  it('doctor: a row per check and ok, also when a part fails (exit 1)', async () => {
    const good = await json(['doctor', '--timeout', '5000']);
    expect(good.code, good.out + good.err).toBe(0);
    const report = doctorReportSchema.parse(good.document);
    expect(report.ok).toBe(true);
    expect(report.rows).toContainEqual(expect.objectContaining({ part: 'store', result: 'ok' }));

    await writeFile(join(dir, 'a-file'), 'not a folder');
    const bad = await json(['doctor', '--timeout', '2000'], { SPARKFN_STORE: `file://${dir}/a-file/store` });
    expect(bad.code).toBe(1);
    const failed = doctorReportSchema.parse(bad.document);
    expect(failed.ok).toBe(false);
    expect(failed.rows).toContainEqual(expect.objectContaining({ part: 'store', result: 'FAIL' }));
  });

  it('janitor: the run summary and its audit record', async () => {
    for (const o of appObjects({ namespace: 'spark-out', appId: 'spark-out-1', driverPhase: 'Succeeded', finishedAt: Date.now() - 48 * HOUR, executors: 2, configmaps: 1 })) apiserver.put(o);
    const { code, document } = await json(['janitor', '--dry-run', '--namespace', 'spark-out'], { SPARKFN_K8S_URL: apiserver.url, SPARKFN_K8S_TOKEN: apiserver.token, SPARKFN_JANITOR_QPS: '0' });
    expect(code).toBe(0);
    const report = janitorReportSchema.parse(document);
    expect(report.summary.dryRun).toBe(true);
    expect(report.summary.deleted).toBe(4);
    expect(report.audit.apps.map((a) => a.appId)).toEqual(['spark-out-1']);
  });

  it('monitor: the view of the cluster, with the finished app as leftovers', async () => {
    for (const o of appObjects({ namespace: 'spark-mon', appId: 'spark-mon-1', driverPhase: 'Succeeded', finishedAt: Date.now() - 48 * HOUR, executors: 2, configmaps: 1 })) apiserver.put(o);
    const { code, document } = await json(['monitor'], { SPARKFN_K8S_URL: apiserver.url, SPARKFN_K8S_TOKEN: apiserver.token });
    expect(code).toBe(0);
    const view = monitorViewSchema.parse(document);
    expect(view.apps).toContainEqual({ namespace: 'spark-mon', state: 'succeeded', count: 1 });
    expect(view.leftovers.filter((l) => l.age === 'gt_24h').reduce((n, l) => n + l.count, 0)).toBeGreaterThan(0);
    expect(monitorViewSchema.safeParse({ ...view, apps: undefined }).success).toBe(false);
  });

  it('refuses an output format it does not have (exit 2), printing nothing', async () => {
    const { code, out, err } = await sparkfn(['doctor', '-o', 'yaml']);
    expect(code).toBe(2);
    expect(out).toBe('');
    expect(err).toMatch(/-o takes table or json/);
  });

  it('a schema rejects a document without its documented fields', () => {
    expect(costReportSchema.safeParse({ from: '2026-01-01', to: '2026-01-31', by: 'namespace', currency: null, rows: [{ group: 'x' }], daily: [], problems: [] }).success).toBe(false);
    expect(doctorReportSchema.safeParse({ rows: [] }).success).toBe(false);
  });
});
