import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSparkfn } from '../support/run-cli.js';
import { costReportSchema } from '../../functions/job-cost/report-schema.js';

const SAMPLES = new URL('../../events/', import.meta.url).pathname;
const SPARKFN = new URL('../../app/cli/sparkfn.js', import.meta.url).pathname;

let dir: string;
let demoOut: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sparkfn-demo-next-'));
  const demo = await sparkfn(['demo']);
  if (demo.code !== 0) throw new Error(`the demo failed: ${demo.err}`);
  demoOut = demo.out;
}, 120_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function sparkfn(args: string[], env: NodeJS.ProcessEnv = {}) {
  return runSparkfn(dir, args, env);
}

async function demoRecord() {
  const report = costReportSchema.parse(JSON.parse((await sparkfn(['cost', 'report', '-o', 'json'])).out));
  return report.rows.find((r) => r.group === 'spark-demo');
}

describe('the demo leads somewhere', () => {
  it('is dated now: its cost record is in the default report, its breakers are open for minutes from now', async () => {
    expect((await demoRecord())?.total).toBeGreaterThan(0);
    const until = [...demoOut.matchAll(/breaker \S+: open until (\S+) \(in /g)].map((m) => Date.parse(m[1]!));
    expect(until.length).toBeGreaterThan(0);
    for (const t of until) expect(t - Date.now()).toBeGreaterThan(0);
    for (const t of until) expect(t - Date.now()).toBeLessThan(30 * 60_000);
  });

  it('prints sizes as people write them, never a raw byte count', () => {
    expect(demoOut).toMatch(/etl-orders-daily-20250514-0400 .* 2 +4\.4Gi /);
    expect(demoOut).not.toMatch(/4723834880/);
  });

  it('a job-cost sample without prices says its record has no money and leaves the demo record priced', async () => {
    const before = await demoRecord();
    const { code, out, err } = await sparkfn(['invoke', 'job-cost', '--event', `${SAMPLES}job-cost/listener-app-end.json`]);
    expect(code).toBe(0);
    expect(JSON.parse(JSON.parse(out).body).records[0]).toMatchObject({ namespace: 'spark-jobs', total: null });
    expect(err).toMatch(/job-cost: 1 record\(s\) written without money \(total: null\).*Set SPARKFN_COST_PRICE_FILE/);
    expect(await demoRecord()).toEqual(before);
  });

  it('a quota-retry webhook sample is accepted with the token the demo prints (202), refused without it (401, exit 1)', async () => {
    const token = /with their bearer token (\S+)/.exec(demoOut)?.[1];
    expect(token).toBeDefined();
    const sample = `${SAMPLES}quota-retry/webhook-exceeded-quota.json`;
    // A process of its own: quota-retry reads its webhook settings from the process environment.
    const invoke = (env: NodeJS.ProcessEnv) =>
      spawnSync(process.execPath, [SPARKFN, 'invoke', 'quota-retry', '--event', sample], { encoding: 'utf8', timeout: 60_000, env: { PATH: process.env.PATH, HOME: dir, SPARKFN_STORE: `file://${dir}/store`, SPARKFN_LOG_LEVEL: 'silent', ...env } });
    const withToken = invoke({ SPARKFN_WEBHOOK_TOKEN: token });
    expect(withToken.status, withToken.stdout + withToken.stderr).toBe(0);
    expect(JSON.parse(withToken.stdout).status).toBe(202);
    const without = invoke({});
    expect(without.status).toBe(1);
    expect(JSON.parse(without.stdout).status).toBe(401);
  });
});
