// spark-monitor at scale: `sparkfn serve` watching 20,000 pods of 1,000 apps on the test apiserver
// against an idle `sparkfn serve` (same configuration, empty cluster) started in the same run.
// Reports RSS above the idle one (bound: 150 MB), /metrics scrape p50/p99 (bound: p99 < 100 ms)
// and their ratio to the idle serve's, the series count; then drops the watches and forgets the
// apiserver's history (so they resume with 410 Gone and relist) after changing the cluster, and
// checks that the monitor's numbers equal those of a fresh serve started on the final state.
// `npm run bench spark-monitor -- --apps 200 --scrapes 100` to change the scale.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestApiserver, type TestApiserver } from '../test/support/apiserver/index.js';
import { startServeChild, type ServeChild } from '../test/support/serve-child.js';
import { appIdOf, sparkCluster, type ClusterPlan } from '../test/spark-monitor/prometheus-cluster.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}
const APPS = arg('apps', 1000);
const SCRAPES = arg('scrapes', 200);
/** 20 pods per app (a driver and 19 executors): 20,000 pods for 1,000 apps. */
const EXECUTORS_PER_APP = 19;
const RSS_BOUND_BYTES = 150 * 1024 * 1024;
const SCRAPE_P99_BOUND_MS = 100;
/** How long the watches may take to deliver the cluster (20,000 ADDED events through every watching function). */
const SYNC_TIMEOUT_MS = 900_000;
const POLL_MS = 250;
const MB = 1024 * 1024;

const PLAN: ClusterPlan = {
  namespaces: 10,
  running: Math.round(APPS * 0.68),
  stuck: Math.round(APPS * 0.02),
  finished: APPS - Math.round(APPS * 0.68) - Math.round(APPS * 0.02),
  submitted: 0,
  executorsPerApp: EXECUTORS_PER_APP,
};

async function scrape(serve: ServeChild): Promise<string> {
  const response = await fetch(`${serve.url}/metrics`);
  if (!response.ok) throw new Error(`/metrics answered ${response.status}`);
  return response.text();
}

/** The monitor's numbers that do not move with the clock: gauges other than the snapshot time, rankings by their labels. */
function monitorNumbers(text: string): string[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('sparkfn_monitor_') && !l.startsWith('sparkfn_monitor_last_snapshot') && !l.startsWith('sparkfn_monitor_apps_started_total'))
    .map((l) => (l.startsWith('sparkfn_monitor_top_app_') ? l.replace(/ [^ ]+$/, '') : l))
    .sort();
}

function sumOf(text: string, metric: string): number {
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${metric}{`) || l.startsWith(`${metric} `))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

async function until(what: string, probe: () => Promise<boolean>, timeoutMs = SYNC_TIMEOUT_MS): Promise<number> {
  const started = performance.now();
  for (;;) {
    if (await probe()) return performance.now() - started;
    if (performance.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

async function scrapeTimes(serve: ServeChild): Promise<{ p50: number; p99: number; bytes: number; series: number }> {
  const times: number[] = [];
  let text = '';
  for (let i = 0; i < SCRAPES; i++) {
    const started = performance.now();
    text = await scrape(serve);
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  const at = (q: number) => times[Math.min(times.length - 1, Math.ceil(q * times.length) - 1)]!;
  return { p50: at(0.5), p99: at(0.99), bytes: Buffer.byteLength(text), series: text.split('\n').filter((l) => l && !l.startsWith('#')).length };
}

/** Each serve under a user of its own, so that the apiserver's call log says whose lists they were. */
async function startServe(apiserver: TestApiserver, dir: string, user: string): Promise<ServeChild> {
  apiserver.addUser(`token-${user}`, user);
  return startServeChild({ SPARKFN_STORE: `file://${dir}`, SPARKFN_K8S_URL: apiserver.url, SPARKFN_K8S_TOKEN: `token-${user}`, SPARKFN_LEADER_ELECTION: 'off' });
}

async function filesUnder(path: string): Promise<number> {
  const entries = await readdir(path, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).length;
}

const dir = await mkdtemp(join(tmpdir(), 'spark-monitor-bench-'));
const empty = await startTestApiserver();
const loaded = await startTestApiserver();
const { objects, expected } = sparkCluster(PLAN, Date.now());
for (const o of objects) loaded.put(o);
const children: ServeChild[] = [];
try {
  const idle = await startServe(empty, join(dir, 'idle'), 'idle');
  children.push(idle);
  await until('the idle serve to report its (empty) model', async () => (await scrape(idle)).includes('# TYPE sparkfn_monitor_apps gauge'));
  const idleScrape = await scrapeTimes(idle);
  const idleRss = idle.rss();

  const busy = await startServe(loaded, join(dir, 'loaded'), 'busy');
  children.push(busy);
  const syncMs = await until(`${expected.pods} pods in the monitor`, async () => sumOf(await scrape(busy), 'sparkfn_monitor_pods') === expected.pods);
  const busyScrape = await scrapeTimes(busy);
  const busyRss = busy.rss();
  const text = await scrape(busy);
  const monitorSeries = text.split('\n').filter((l) => l.startsWith('sparkfn_monitor_')).length;

  console.log(`${APPS} apps, ${expected.pods} pods (${PLAN.running} running, ${PLAN.stuck} stuck, ${PLAN.finished} finished with leftovers), ${PLAN.namespaces} namespaces`);
  console.log(`watch sync: ${(syncMs / 1000).toFixed(1)} s until /metrics showed every pod; the other watching functions wrote ${await filesUnder(join(dir, 'loaded'))} store objects meanwhile`);
  console.log(`RSS: idle serve ${(idleRss / MB).toFixed(1)} MB, loaded ${(busyRss / MB).toFixed(1)} MB, +${((busyRss - idleRss) / MB).toFixed(1)} MB (bound ${RSS_BOUND_BYTES / MB} MB)`);
  console.log(
    `/metrics over ${SCRAPES} scrapes: idle p50 ${idleScrape.p50.toFixed(2)} ms p99 ${idleScrape.p99.toFixed(2)} ms (${idleScrape.series} series, ${idleScrape.bytes} bytes); ` +
      `loaded p50 ${busyScrape.p50.toFixed(2)} ms p99 ${busyScrape.p99.toFixed(2)} ms (${busyScrape.series} series, ${monitorSeries} sparkfn_monitor_*, ${busyScrape.bytes} bytes)`,
  );
  console.log(`ratio loaded/idle: p50 ${(busyScrape.p50 / idleScrape.p50).toFixed(2)}×, p99 ${(busyScrape.p99 / idleScrape.p99).toFixed(2)}× (bound p99 < ${SCRAPE_P99_BOUND_MS} ms)`);
  const checks = [`RSS +${((busyRss - idleRss) / MB).toFixed(1)} MB ≤ 150 MB: ${busyRss - idleRss <= RSS_BOUND_BYTES}`, `p99 ${busyScrape.p99.toFixed(1)} ms < 100 ms: ${busyScrape.p99 < SCRAPE_P99_BOUND_MS}`];

  // 410: the watches drop and the apiserver forgets its history in one tick, with changes in
  // between that no watch stream carries: only the relist can tell the monitor.
  const listsBefore = loaded.countCalls({ verb: 'list', resource: 'pods', user: 'busy' });
  loaded.faults.dropWatches();
  const changedApps = Math.min(PLAN.finished, 50);
  for (let i = 0; i < changedApps; i++) {
    const appId = appIdOf('finished', PLAN.running + PLAN.stuck + i);
    for (const pod of loaded.list('pods').filter((p) => p.metadata.labels?.['spark-app-selector'] === appId)) loaded.remove('pods', pod.metadata.namespace, pod.metadata.name);
  }
  const recovered = appIdOf('stuck', PLAN.running);
  for (const pod of loaded.list('pods').filter((p) => p.metadata.labels?.['spark-app-selector'] === recovered && p.metadata.labels?.['spark-role'] === 'executor')) {
    loaded.setPodPhase(pod.metadata.namespace!, pod.metadata.name, 'Running', { startTime: new Date().toISOString() });
  }
  loaded.compact();
  const podsAfter = loaded.list('pods').length;

  const fresh = await startServe(loaded, join(dir, 'fresh'), 'fresh');
  children.push(fresh);
  await until(`${podsAfter} pods in a fresh serve`, async () => sumOf(await scrape(fresh), 'sparkfn_monitor_pods') === podsAfter);
  const freshNumbers = monitorNumbers(await scrape(fresh));
  let last: string[] = [];
  const relistMs = await until('the relisted serve to show the fresh serve’s numbers', async () => {
    last = monitorNumbers(await scrape(busy));
    return JSON.stringify(last) === JSON.stringify(freshNumbers);
  }).catch((err: unknown) => {
    const differ = last.filter((l) => !freshNumbers.includes(l)).slice(0, 10);
    throw new Error(`${String(err)}; lines differing from a fresh serve: ${JSON.stringify(differ)}`);
  });
  const lists = loaded.countCalls({ verb: 'list', resource: 'pods', user: 'busy' }) - listsBefore;
  console.log(
    `relist after 410: ${changedApps} finished apps' pods deleted and one stuck app recovered while no watch was open; ` +
      `${lists} pod lists, numbers equal to a fresh serve's (${freshNumbers.length} sparkfn_monitor_* series) after ${(relistMs / 1000).toFixed(1)} s`,
  );
  checks.push(`relist rebuilds a fresh serve's numbers: true`, `relisted (pod list calls after the drop ≥ 1): ${lists >= 1}`);
  console.log(checks.join('; '));
  if (checks.some((c) => c.endsWith('false'))) process.exitCode = 1;
} catch (err) {
  // A child that died says why in its last log lines.
  for (const child of children) {
    const ended = await Promise.race([child.exited, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 0))]);
    if (ended) console.error(`serve ${child.pid} exited (${ended.code ?? ended.signal}):\n${child.output().slice(-4000)}`);
  }
  throw err;
} finally {
  for (const child of children) await child.stop();
  await empty.stop();
  await loaded.stop();
  await rm(dir, { recursive: true, force: true });
}
