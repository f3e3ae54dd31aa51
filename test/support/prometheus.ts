import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { closedPort } from './closed-port.js';

/** Debian's `prometheus` package (test/support/install-tools.sh installs it where missing). */
export const PROMETHEUS_BIN = process.env.PROMETHEUS_BIN ?? '/usr/bin/prometheus';
/** Its `promtool`, from the same package. */
export const PROMTOOL_BIN = process.env.PROMTOOL_BIN ?? '/usr/bin/promtool';
/** Short, so a test sees a change within a couple of seconds (Prometheus accepts down to 1 ms). */
const DEFAULT_SCRAPE_INTERVAL_SECONDS = 1;
/** Prometheus 2.42 is ready in about a second; a loaded 2-core machine can take several. */
const READY_TIMEOUT_MS = 30_000;
/** The first scrape happens at a random offset within the interval; this bounds slow starts. */
const SCRAPED_TIMEOUT_MS = 30_000;
const POLL_MS = 100;
/** Prometheus flushes the head block on SIGTERM; a small TSDB takes well under a second. */
const STOP_GRACE_MS = 10_000;
/** A port picked by closedPort() can be taken by someone else before Prometheus binds it: try again. */
const START_ATTEMPTS = 3;
const OUTPUT_TAIL_CHARS = 16_384;

/** Prometheus scrapes `url` (scheme, host, port and path) as an instance of `job`; one job's targets share scheme and path. */
export interface ScrapeTarget {
  job: string;
  url: string;
}

export interface PrometheusOptions {
  targets: ScrapeTarget[];
  scrapeIntervalSeconds?: number;
  /** Rule files (the `groups:` format promtool checks) by file name, evaluated every scrape interval. */
  ruleFiles?: Record<string, unknown>;
}

/** One element of an instant vector. */
export interface Sample {
  metric: Record<string, string>;
  value: number;
}

/** One series of a range query. */
export interface RangeSeries {
  metric: Record<string, string>;
  values: [timeSeconds: number, value: number][];
}

/** An alert as /api/v1/alerts lists it. */
export interface ActiveAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: 'pending' | 'firing';
  value: string;
}

/** A running Prometheus on 127.0.0.1 with its own config and TSDB directory. */
export interface PrometheusHarness {
  url: string;
  port: number;
  /** Its config, rule files and TSDB; removed by stop(). */
  directory: string;
  /** Instant query; a scalar or string result is returned as one sample without labels. */
  query(promql: string, atSeconds?: number): Promise<Sample[]>;
  queryRange(promql: string, startSeconds: number, endSeconds: number, stepSeconds: number): Promise<RangeSeries[]>;
  /** Alerts pending or firing now. */
  alerts(): Promise<ActiveAlert[]>;
  /**
   * Resolves once every target was scraped at least `scrapes` more times from now (counted by
   * distinct `lastScrape` times), so that a query sees what the target served after a change.
   */
  waitForScrapes(scrapes?: number, timeoutMs?: number): Promise<void>;
  /** Polls `query(promql)` until `accept` says yes, bounded; the error says what was seen last. */
  waitFor(promql: string, accept: (samples: Sample[]) => boolean, timeoutMs?: number): Promise<Sample[]>;
  /** Prometheus' own log (stderr), the last 16 KiB. */
  output(): string;
  /** SIGTERM (SIGKILL after a grace period), then removes the config and TSDB directory. */
  stop(): Promise<void>;
}

interface ApiBody<T> {
  status: 'success' | 'error';
  data: T;
  errorType?: string;
  error?: string;
}

interface TargetsData {
  activeTargets: { scrapePool: string; health: string; lastScrape: string; lastError: string; scrapeUrl: string }[];
}

/**
 * Starts Prometheus scraping `targets` every `scrapeIntervalSeconds` and resolves once it is
 * ready and has scraped each target at least once (up or not: a test of a down target needs
 * the failed scrape too).
 * @example
 * const prom = await startPrometheus({ targets: [{ job: 'sparkfn', url: `${serve.url}/metrics` }] });
 * const [running] = await prom.query('sum(sparkfn_monitor_apps{state="running"})');
 * await prom.stop();
 */
export async function startPrometheus(options: PrometheusOptions): Promise<PrometheusHarness> {
  let lastError: unknown;
  for (let attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
    try {
      return await startOnce(options);
    } catch (err) {
      lastError = err;
      if (!(err instanceof Error) || !/address already in use/.test(err.message)) throw err;
    }
  }
  throw lastError;
}

async function startOnce(options: PrometheusOptions): Promise<PrometheusHarness> {
  const interval = options.scrapeIntervalSeconds ?? DEFAULT_SCRAPE_INTERVAL_SECONDS;
  const dir = await mkdtemp(join(tmpdir(), 'prometheus-'));
  const ruleFiles = Object.entries(options.ruleFiles ?? {});
  for (const [name, groups] of ruleFiles) await writeFile(join(dir, name), stringify(groups));
  const config = {
    global: { scrape_interval: `${interval}s`, scrape_timeout: `${interval}s`, evaluation_interval: `${interval}s` },
    rule_files: ruleFiles.map(([name]) => join(dir, name)),
    scrape_configs: scrapeConfigs(options.targets),
  };
  const configFile = join(dir, 'prometheus.yml');
  await writeFile(configFile, stringify(config));
  const port = await closedPort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(
    PROMETHEUS_BIN,
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
      // Debian's build points these at /usr/share/prometheus; nothing here needs them.
      `--web.console.templates=${dir}`,
      `--web.console.libraries=${dir}`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let output = '';
  child.stderr.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-OUTPUT_TAIL_CHARS)));
  let exitedWith: string | undefined;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      exitedWith = `code ${code}, signal ${signal}`;
      resolve();
    }),
  );
  const spawnFailed = new Promise<never>((_resolve, reject) => child.once('error', reject));
  spawnFailed.catch(() => {});

  const stop = async () => {
    if (exitedWith === undefined) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      await exited;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };

  const api = async <T>(path: string, params: Record<string, string> = {}): Promise<T> => {
    const response = await fetch(`${url}${path}?${new URLSearchParams(params)}`);
    const body = (await response.json()) as ApiBody<T>;
    if (body.status !== 'success') throw new Error(`Prometheus ${path} ${JSON.stringify(params)}: ${body.errorType}: ${body.error}`);
    return body.data;
  };

  const query = async (promql: string, atSeconds?: number): Promise<Sample[]> => {
    const data = await api<{ resultType: string; result: unknown }>('/api/v1/query', { query: promql, ...(atSeconds === undefined ? {} : { time: String(atSeconds) }) });
    if (data.resultType === 'vector') return (data.result as { metric: Record<string, string>; value: [number, string] }[]).map((s) => ({ metric: s.metric, value: Number(s.value[1]) }));
    if (data.resultType === 'scalar') return [{ metric: {}, value: Number((data.result as [number, string])[1]) }];
    throw new Error(`Prometheus answered a ${data.resultType} to ${promql}; use queryRange for range vectors`);
  };

  const targets = () => api<TargetsData>('/api/v1/targets', { state: 'active' });

  const waitForScrapes = async (scrapes = 1, timeoutMs = SCRAPED_TIMEOUT_MS) => {
    const seen = new Map<string, Set<string>>();
    const before = new Map((await targets()).activeTargets.map((t) => [t.scrapeUrl, t.lastScrape]));
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const now = (await targets()).activeTargets;
      for (const t of now) {
        if (t.lastScrape === before.get(t.scrapeUrl) || t.lastScrape.startsWith('0001-')) continue;
        const times = seen.get(t.scrapeUrl) ?? new Set<string>();
        times.add(t.lastScrape);
        seen.set(t.scrapeUrl, times);
      }
      if (now.length >= options.targets.length && now.every((t) => (seen.get(t.scrapeUrl)?.size ?? 0) >= scrapes)) return;
      if (performance.now() > deadline) {
        throw new Error(`Prometheus did not scrape every target ${scrapes} time(s) within ${timeoutMs} ms: ${JSON.stringify(now)}\n${output}`);
      }
      await delay(POLL_MS);
    }
  };

  try {
    const deadline = performance.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (exitedWith !== undefined) throw new Error(`prometheus exited (${exitedWith}) before it was ready:\n${output}`);
      const ready = await Promise.race([fetch(`${url}/-/ready`).then((r) => r.ok, () => false), spawnFailed]);
      if (ready) break;
      if (performance.now() > deadline) throw new Error(`prometheus was not ready within ${READY_TIMEOUT_MS} ms:\n${output}`);
      await delay(POLL_MS);
    }
    // Scraped once = lastScrape set; the counting helper above wants scrapes after a call, so look directly.
    const scrapedBy = performance.now() + SCRAPED_TIMEOUT_MS;
    for (;;) {
      const active = (await targets()).activeTargets;
      if (active.length >= options.targets.length && active.every((t) => !t.lastScrape.startsWith('0001-'))) break;
      if (performance.now() > scrapedBy) throw new Error(`Prometheus did not scrape its targets within ${SCRAPED_TIMEOUT_MS} ms: ${JSON.stringify(active)}\n${output}`);
      await delay(POLL_MS);
    }
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    url,
    port,
    directory: dir,
    query,
    queryRange: async (promql, startSeconds, endSeconds, stepSeconds) => {
      const data = await api<{ result: { metric: Record<string, string>; values: [number, string][] }[] }>('/api/v1/query_range', {
        query: promql,
        start: String(startSeconds),
        end: String(endSeconds),
        step: String(stepSeconds),
      });
      return data.result.map((s) => ({ metric: s.metric, values: s.values.map(([t, v]) => [t, Number(v)] as [number, number]) }));
    },
    alerts: async () => (await api<{ alerts: ActiveAlert[] }>('/api/v1/alerts')).alerts,
    waitForScrapes,
    waitFor: async (promql, accept, timeoutMs = SCRAPED_TIMEOUT_MS) => {
      const deadline = performance.now() + timeoutMs;
      for (;;) {
        const samples = await query(promql);
        if (accept(samples)) return samples;
        if (performance.now() > deadline) throw new Error(`${promql} did not reach the expected value within ${timeoutMs} ms; last: ${JSON.stringify(samples)}`);
        await delay(POLL_MS);
      }
    },
    output: () => output,
    stop,
  };
}

/** Targets of one job become the instances of one scrape config, as replicas behind a ServiceMonitor do. */
function scrapeConfigs(targets: ScrapeTarget[]) {
  const jobs = new Map<string, { job_name: string; scheme: string; metrics_path: string; static_configs: { targets: string[] }[] }>();
  for (const t of targets) {
    const url = new URL(t.url);
    const scheme = url.protocol.replace(':', '');
    const job = jobs.get(t.job) ?? { job_name: t.job, scheme, metrics_path: url.pathname, static_configs: [{ targets: [] }] };
    if (job.scheme !== scheme || job.metrics_path !== url.pathname) throw new Error(`targets of job ${t.job} differ in scheme or path: ${t.url}`);
    job.static_configs[0]!.targets.push(url.host);
    jobs.set(t.job, job);
  }
  return [...jobs.values()];
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** What a promtool run printed and how it ended. */
export interface PromtoolResult {
  code: number;
  output: string;
}

/** Runs `promtool <args>` (in `cwd`), resolving with its exit code and output whatever the code. */
export function promtool(args: string[], cwd?: string): Promise<PromtoolResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(PROMTOOL_BIN, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code: code ?? -1, output }));
  });
}

/** A PrometheusRule's `spec`: the `groups:` document Prometheus loads from `rule_files` and promtool checks. */
export interface RuleGroups {
  groups: { name: string; interval?: string; rules: { alert?: string; record?: string; expr: string; for?: string; labels?: Record<string, string>; annotations?: Record<string, string> }[] }[];
}

/** The plain rule file inside a `monitoring.coreos.com/v1` PrometheusRule manifest. */
export function ruleGroupsOf(prometheusRule: { apiVersion?: string; kind?: string; spec?: unknown }): RuleGroups {
  if (prometheusRule.apiVersion !== 'monitoring.coreos.com/v1' || prometheusRule.kind !== 'PrometheusRule') {
    throw new Error(`not a monitoring.coreos.com/v1 PrometheusRule: ${prometheusRule.apiVersion}/${prometheusRule.kind}`);
  }
  return structuredClone(prometheusRule.spec) as RuleGroups;
}
