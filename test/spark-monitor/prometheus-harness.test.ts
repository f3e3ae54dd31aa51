import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedPort } from '../support/closed-port.js';
import { startPrometheus, type PrometheusHarness } from '../support/prometheus.js';

/** A /metrics endpoint whose value the test sets, as a stand-in for any exporter. */
function staticExporter(): { server: Server; set(value: number): void; url(): string; scrapes(): number } {
  let value = 1;
  let scrapes = 0;
  const server = createServer((req, res) => {
    if (req.url !== '/metrics') return void res.writeHead(404).end();
    scrapes++;
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    res.end(`# HELP demo_value A value the test sets.\n# TYPE demo_value gauge\ndemo_value{kind="a"} ${value}\ndemo_value{kind="b"} ${value * 2}\n`);
  });
  return {
    server,
    set: (v) => (value = v),
    url: () => `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`,
    scrapes: () => scrapes,
  };
}

describe('test/support/prometheus (Debian prometheus scraping a static exporter)', () => {
  const exporter = staticExporter();
  let prom: PrometheusHarness;
  let downPort: number;

  beforeAll(async () => {
    await new Promise<void>((resolve) => exporter.server.listen(0, '127.0.0.1', resolve));
    downPort = await closedPort();
    prom = await startPrometheus({
      targets: [
        { job: 'demo', url: exporter.url() },
        { job: 'gone', url: `http://127.0.0.1:${downPort}/metrics` },
      ],
      ruleFiles: { 'demo.rules.yml': { groups: [{ name: 'demo', rules: [{ alert: 'DemoHigh', expr: 'demo_value{kind="a"} > 5', labels: { severity: 'warning' }, annotations: { summary: 'value {{ $value }}' } }] }] } },
    });
  });
  afterAll(async () => {
    await prom?.stop();
    await new Promise<void>((resolve) => exporter.server.close(() => resolve()));
  });

  it('has scraped the exporter when it resolves, and answers instant queries with its values', async () => {
    expect(exporter.scrapes()).toBeGreaterThan(0);
    const samples = await prom.query('demo_value');
    expect(samples.map((s) => [s.metric.kind, s.value]).sort()).toEqual([
      ['a', 1],
      ['b', 2],
    ]);
    expect(await prom.query('sum(demo_value)')).toEqual([{ metric: {}, value: 3 }]);
    expect(await prom.query('scalar(sum(demo_value)) * 10')).toEqual([{ metric: {}, value: 30 }]);
  });

  it('reports a target it cannot reach as up == 0', async () => {
    const up = await prom.query('up');
    expect(Object.fromEntries(up.map((s) => [s.metric.job, s.value]))).toEqual({ demo: 1, gone: 0 });
  });

  it('sees a change after waitForScrapes, returns it in a range query, and fires a rule on it', async () => {
    exporter.set(7);
    await prom.waitForScrapes(2);
    expect((await prom.query('demo_value{kind="b"}'))[0]!.value).toBe(14);
    const now = Date.now() / 1000;
    const [series] = await prom.queryRange('demo_value{kind="a"}', now - 30, now, 1);
    const values = new Set(series!.values.map(([, v]) => v));
    expect(values).toEqual(new Set([1, 7]));
    const alerts = await prom.waitFor('ALERTS{alertname="DemoHigh",alertstate="firing"}', (s) => s.length === 1);
    expect(alerts[0]!.metric.severity).toBe('warning');
    expect((await prom.alerts()).map((a) => [a.labels.alertname, a.state, a.annotations.summary])).toEqual([['DemoHigh', 'firing', 'value 7']]);
  });

  it('rejects a bad query with Prometheus’ own message', async () => {
    await expect(prom.query('sum(demo_value')).rejects.toThrow(/bad_data.*unclosed left parenthesis/);
  });

  it('rejects at start, with Prometheus’ log, when a rule file does not parse, and leaves nothing behind', async () => {
    await expect(
      startPrometheus({ targets: [{ job: 'demo', url: exporter.url() }], ruleFiles: { 'bad.yml': { groups: [{ name: 'bad', rules: [{ alert: 'Bad', expr: 'sum(' }] }] } } }),
    ).rejects.toThrow(/prometheus exited .* before it was ready:[\s\S]*bad\.yml/);
  });

  it('stops the process and removes its directory', async () => {
    const other = await startPrometheus({ targets: [{ job: 'demo', url: exporter.url() }] });
    expect((await fetch(`${other.url}/-/ready`)).ok).toBe(true);
    expect(existsSync(other.directory)).toBe(true);
    await other.stop();
    await expect(fetch(`${other.url}/-/ready`)).rejects.toThrow();
    expect(existsSync(other.directory)).toBe(false);
  });
});
