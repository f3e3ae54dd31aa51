import { readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contractExposition, METRIC_CONTRACT, metricNames, PROMETHEUS_SERIES } from '../fixtures/spark-monitor/metric-contract.js';
import { promtool, startPrometheus, type PrometheusHarness, type Sample } from '../support/prometheus.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DASHBOARD_FILE = join(ROOT, 'deploy/monitoring/grafana-dashboard.json');
/** The datasource variable every panel and query goes through, so that an import picks the Prometheus. */
const DATASOURCE = { type: 'prometheus', uid: '${datasource}' };
/** Grafana's grid is 24 columns wide. */
const GRID_COLUMNS = 24;
/**
 * What Grafana puts in for its variables before it sends a query: `$namespace` at "All" is its
 * allValue, and the intervals are what a 6-hour view on a 1 s scrape interval would get.
 */
const VARIABLES: Record<string, string> = { $__rate_interval: '1m', $__interval: '1m', $__range: '1d', $namespace: '.*' };
/** Where our metrics are registered (`metrics.gauge('name', …)` and friends). */
const SOURCE_DIRS = ['shared', 'functions', 'app'];

interface Target {
  refId: string;
  expr: string;
  legendFormat?: string;
  instant?: boolean;
  datasource: unknown;
}
interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: unknown;
  gridPos: { h: number; w: number; x: number; y: number };
  targets?: Target[];
}
interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: { name: string; type: string; query: unknown; datasource?: unknown; allValue?: string }[] };
}

const dashboard = JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as Dashboard;
const panels = dashboard.panels.filter((p) => p.type !== 'row');
const queries = panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, id: p.id, ...t, promql: substitute(t.expr) })));

function substitute(expr: string): string {
  return expr.replace(/\$[a-z_]+/g, (name) => {
    if (!(name in VARIABLES)) throw new Error(`unknown dashboard variable ${name} in ${expr}`);
    return VARIABLES[name]!;
  });
}

/** `sparkfn_<name>` for every metric the code registers through shared/metrics.ts. */
function metricsRegisteredInCode(): Set<string> {
  const names = new Set<string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) walk(path);
      else if (path.endsWith('.ts')) for (const m of readFileSync(path, 'utf8').matchAll(/\.(?:counter|gauge|histogram)\(\s*'([a-z0-9_]+)'/g)) names.add(`sparkfn_${m[1]}`);
    }
  };
  for (const dir of SOURCE_DIRS) walk(join(ROOT, dir));
  return names;
}

describe('deploy/monitoring/grafana-dashboard.json', () => {
  it('has a Prometheus datasource variable that every panel and query uses, and a namespace variable over the apps', () => {
    const [datasource, namespace] = dashboard.templating.list;
    expect(datasource).toMatchObject({ name: 'datasource', type: 'datasource', query: 'prometheus' });
    expect(namespace).toMatchObject({ name: 'namespace', type: 'query', datasource: DATASOURCE, allValue: '.*' });
    expect(JSON.stringify(namespace!.query)).toContain('label_values(sparkfn_monitor_apps, namespace)');
    for (const panel of panels) {
      expect(panel.datasource, panel.title).toEqual(DATASOURCE);
      expect(panel.targets?.length, `${panel.title} has no query`).toBeGreaterThan(0);
      for (const target of panel.targets!) expect(target.datasource, panel.title).toEqual(DATASOURCE);
    }
  });

  it('lays panels out on the grid without overlaps, each with a unique id', () => {
    expect(new Set(dashboard.panels.map((p) => p.id)).size).toBe(dashboard.panels.length);
    const cells = new Map<string, string>();
    for (const p of dashboard.panels) {
      expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(GRID_COLUMNS);
      for (let y = p.gridPos.y; y < p.gridPos.y + p.gridPos.h; y++) {
        for (let x = p.gridPos.x; x < p.gridPos.x + p.gridPos.w; x++) {
          expect(cells.get(`${x},${y}`), `${p.title} overlaps`).toBeUndefined();
          cells.set(`${x},${y}`, p.title);
        }
      }
    }
  });

  it('shows what issue 17 asks for', () => {
    const titles = panels.map((p) => p.title);
    for (const wanted of [
      'Apps by state',
      'Running vCPU vs quota',
      'Running memory vs quota',
      'Spark pods by role and phase',
      'Running executors by zone',
      'Running executors by instance spec',
      'Running executors by capacity',
      'Top apps by requested memory × runtime',
      'Top apps by runtime',
      'Stuck apps',
      'Leftovers by kind and age',
      'Spot fallback rate',
      'Dead letters',
      'log-archiver consumer lag',
    ]) {
      expect(titles).toContain(wanted);
    }
  });

  it('refers only to metrics in the contract, and the contract’s metrics from other functions are registered in the code', () => {
    const contract = new Set<string>([...METRIC_CONTRACT.map((m) => m.name), ...PROMETHEUS_SERIES]);
    const used = new Set(queries.flatMap((q) => [...metricNames(q.promql)]));
    expect([...used].filter((name) => !contract.has(name))).toEqual([]);
    expect(metricNames('sum(rate(sparkfn_nope_total{a="sparkfn_x"}[1m])) + other{b="c"}')).toEqual(new Set(['sparkfn_nope_total', 'other']));
    const registered = metricsRegisteredInCode();
    const elsewhere = METRIC_CONTRACT.filter((m) => m.from !== 'spark-monitor').map((m) => m.name);
    expect(elsewhere.filter((name) => !registered.has(name))).toEqual([]);
  });

  it('every query parses (promtool check rules, each as a recording rule)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sparkfn-dashboard-'));
    try {
      const rules = { groups: [{ name: 'dashboard', rules: queries.map((q) => ({ record: `dashboard:panel${q.id}:${q.refId}`, expr: q.promql })) }] };
      await writeFile(join(dir, 'dashboard.rules.yml'), stringify(rules));
      const ok = await promtool(['check', 'rules', join(dir, 'dashboard.rules.yml')]);
      expect(ok.output).toContain(`SUCCESS: ${queries.length} rules found`);
      // And the check can fail:
      rules.groups[0]!.rules[0]!.expr = 'sum by (state (sparkfn_monitor_apps)';
      await writeFile(join(dir, 'broken.rules.yml'), stringify(rules));
      expect((await promtool(['check', 'rules', join(dir, 'broken.rules.yml')])).code).toBe(1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  describe('evaluated by Prometheus scraping two replicas that serve the contract’s sample series', () => {
    const servers: Server[] = [];
    let prom: PrometheusHarness;

    beforeAll(async () => {
      for (let i = 0; i < 2; i++) {
        let scrape = 0;
        const server = createServer((_req, res) => {
          res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
          res.end(contractExposition(++scrape, Date.now() / 1000));
        });
        await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
        servers.push(server);
      }
      prom = await startPrometheus({
        targets: servers.map((s) => ({ job: 'sparkfn', url: `http://127.0.0.1:${(s.address() as AddressInfo).port}/metrics` })),
      });
      // rate() and increase() need two samples in their window.
      await prom.waitForScrapes(2);
    });
    afterAll(async () => {
      await prom?.stop();
      for (const s of servers) await new Promise<void>((resolve) => s.close(() => resolve()));
    });

    it('every query returns data, with every label its legend names', async () => {
      const empty: string[] = [];
      for (const q of queries) {
        const samples = await prom.query(q.promql);
        if (samples.length === 0) empty.push(`${q.panel} ${q.refId}: ${q.promql}`);
        const legendLabels = [...(q.legendFormat ?? '').matchAll(/\{\{\s*(\w+)\s*\}\}/g)].map((m) => m[1]!);
        for (const s of samples) for (const label of legendLabels) expect(s.metric, `${q.panel} ${q.refId} legend {{${label}}}`).toHaveProperty(label);
      }
      expect(empty).toEqual([]);
    });

    const value = (samples: Sample[], labels: Record<string, string> = {}) =>
      samples.find((s) => Object.entries(labels).every(([k, v]) => s.metric[k] === v))?.value;
    const panelQuery = (title: string, refId = 'A') => queries.find((q) => q.panel === title && q.refId === refId)!.promql;

    it('counts each app once across replicas: apps by state, stuck apps, pods, executors', async () => {
      const byState = await prom.query(panelQuery('Apps by state'));
      expect(Object.fromEntries(byState.map((s) => [s.metric.state, s.value]))).toEqual({ running: 5, succeeded: 10, failed: 1, submitted: 4 });
      expect(value(await prom.query(panelQuery('Stuck apps')))).toBe(1);
      const pods = await prom.query(panelQuery('Spark pods by role and phase'));
      expect(value(pods, { role: 'executor', phase: 'Running' })).toBe(30);
      const capacity = await prom.query(panelQuery('Running executors by capacity'));
      expect(Object.fromEntries(capacity.map((s) => [s.metric.capacity, s.value]))).toEqual({ spot: 20, 'on-demand': 8, 'spot-fallback': 2 });
      const zones = await prom.query(panelQuery('Running executors by zone'));
      expect(Object.fromEntries(zones.map((s) => [s.metric.zone, s.value]))).toEqual({ 'cn-hangzhou-h': 22, 'cn-hangzhou-i': 8 });
    });

    it('quota use is used / hard, and a zero quota is left out rather than infinite', async () => {
      const used = await prom.query(panelQuery('Quota used'));
      expect(used.map((s) => [s.metric.namespace, s.metric.resource, s.value]).sort()).toEqual([
        ['team-a', 'requests.cpu', 0.75],
        ['team-a', 'requests.memory', 0.75],
      ]);
    });

    it('the spot fallback rate leaves non-spot pods out: 3 on-demand of 5 spot executors', async () => {
      expect(value(await prom.query(panelQuery('Spot fallback rate')))).toBeCloseTo(0.6, 6);
    });

    it('the top-apps tables keep app id, name, namespace and rank', async () => {
      const top = await prom.query(panelQuery('Top apps by runtime'));
      expect(top.map((s) => [s.metric.rank, s.metric.app_id, s.metric.app_name, s.metric.namespace, s.value]).sort()).toEqual([
        ['1', 'spark-0001', 'etl-daily', 'team-a', 7200],
        ['2', 'spark-0003', 'report', 'team-b', 600],
      ]);
    });

    it('the monitor view age is seconds since the last complete snapshot', async () => {
      const [age] = await prom.query(panelQuery('Monitor view age'));
      expect(age!.value).toBeGreaterThanOrEqual(0);
      expect(age!.value).toBeLessThan(10);
    });
  });
});
