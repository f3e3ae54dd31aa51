import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METRIC_CONTRACT } from '../fixtures/spark-monitor/metric-contract.js';
import { parseQuantity, startTestApiserver, type TestApiserver } from '../support/apiserver/index.js';
import { ruleGroupsOf, startPrometheus, type PrometheusHarness, type Sample } from '../support/prometheus.js';
import { startServeChild, type ServeChild } from '../support/serve-child.js';
import { QUOTA_HARD, sparkCluster, type ClusterPlan } from './prometheus-cluster.js';

const RULE_MANIFEST = fileURLToPath(new URL('../../deploy/monitoring/prometheus-rule.yaml', import.meta.url));
const PLAN: ClusterPlan = { namespaces: 2, running: 5, stuck: 2, finished: 3, submitted: 1, executorsPerApp: 3 };
/** The rule's `for: 5m` is a production delay; here the same expression only has to hold for one evaluation. */
const TEST_FOR = '1s';
/** Metrics with no series until something happened: an ECI failure, a parked submission, a janitor audit, a Kafka consumer commit. */
const ONLY_AFTER_AN_EVENT = new Set([
  'sparkfn_monitor_eci_create_failures_total',
  'sparkfn_monitor_quota_waiting_submissions',
  'sparkfn_monitor_quota_blocked_submissions',
  'sparkfn_monitor_leftovers_failing',
  'sparkfn_log_archiver_consumer_lag',
]);

const QUOTA_CPU = QUOTA_HARD.cpu;
const byLabel = (samples: Sample[], label: string) => Object.fromEntries(samples.map((s) => [s.metric[label], s.value]));

describe('a real Prometheus scraping sparkfn serve over the test apiserver’s Spark cluster', () => {
  let apiserver: TestApiserver;
  let serve: ServeChild;
  let prom: PrometheusHarness;
  let dir: string;
  const { objects, expected } = sparkCluster(PLAN, Date.now());

  beforeAll(async () => {
    apiserver = await startTestApiserver();
    for (const o of objects) apiserver.put(o);
    dir = await mkdtemp(join(tmpdir(), 'sparkfn-monitor-prom-'));
    serve = await startServeChild({
      SPARKFN_STORE: `file://${dir}`,
      SPARKFN_K8S_URL: apiserver.url,
      SPARKFN_K8S_TOKEN: apiserver.token,
      SPARKFN_LEADER_ELECTION: 'off',
      SPARKFN_MONITOR_EVERY_SECONDS: '5',
    });
    const stuckRule = ruleGroupsOf(parse(readFileSync(RULE_MANIFEST, 'utf8')) as Record<string, unknown>)
      .groups.flatMap((g) => g.rules)
      .find((r) => r.alert === 'SparkAppStuck')!;
    prom = await startPrometheus({
      targets: [{ job: 'sparkfn', url: `${serve.url}/metrics` }],
      ruleFiles: { 'stuck.rules.yml': { groups: [{ name: 'stuck', rules: [{ ...stuckRule, for: TEST_FOR }] }] } },
    });
    // The watches deliver the initial list one change at a time: wait until the whole cluster is in.
    await prom.waitFor('sum(sparkfn_monitor_pods)', (s) => s[0]?.value === expected.pods);
  }, 120_000);

  afterAll(async () => {
    await prom?.stop();
    await serve?.stop();
    await apiserver?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('counts apps by state: running (stuck ones included), succeeded, submitted', async () => {
    expect(byLabel(await prom.query('sum by (state) (sparkfn_monitor_apps)'), 'state')).toEqual(expected.appsByState);
    expect((await prom.query('sum(sparkfn_monitor_apps{state="running"})'))[0]!.value).toBe(PLAN.running + PLAN.stuck);
  });

  it('flags the stuck apps, each with its id and reason', async () => {
    expect((await prom.query('sum(sparkfn_monitor_stuck_apps)'))[0]!.value).toBe(PLAN.stuck);
    const stuck = await prom.query('sparkfn_monitor_stuck_app');
    expect(stuck.map((s) => s.metric.app_id).sort()).toEqual([...expected.stuckAppIds].sort());
    expect(new Set(stuck.map((s) => s.metric.reason))).toEqual(new Set(['executors-pending']));
  });

  it('counts the leftovers of finished apps a day old, by kind', async () => {
    expect(byLabel(await prom.query('sum by (kind) (sparkfn_monitor_leftovers{age="gt_24h"})'), 'kind')).toEqual(expected.leftoversDayOld);
    expect(await prom.query('sum(sparkfn_monitor_leftovers{age!="gt_24h"})')).toEqual([]);
  });

  it('sums the requests of running apps per namespace, reports the quotas, and splits running executors by capacity', async () => {
    expect(byLabel(await prom.query('sparkfn_monitor_requested_cpu_cores'), 'namespace')).toEqual(expected.requestedCpuByNamespace);
    expect(byLabel(await prom.query('sparkfn_monitor_requested_memory_bytes'), 'namespace')).toEqual(expected.requestedMemoryByNamespace);
    expect(byLabel(await prom.query('sparkfn_monitor_quota_hard{resource="requests.cpu"}'), 'namespace')).toEqual({ 'spark-team-0': QUOTA_CPU, 'spark-team-1': QUOTA_CPU });
    // status.used is the apiserver's quota controller's to say (it counts the Pending driver too).
    const usedByApiserver = Object.fromEntries(
      apiserver.list('resourcequotas').map((q) => [q.metadata.namespace, Number(parseQuantity(String((q.status as { used: Record<string, string> }).used['requests.cpu'])).nanos) / 1e9]),
    );
    expect(byLabel(await prom.query('sparkfn_monitor_quota_used{resource="requests.cpu"}'), 'namespace')).toEqual(usedByApiserver);
    expect(usedByApiserver['spark-team-0']).toBeGreaterThan(0);
    expect(byLabel(await prom.query('sum by (capacity) (sparkfn_monitor_executors)'), 'capacity')).toEqual(expected.runningExecutorsByCapacity);
  });

  it('fires SparkAppStuck, the shipped rule’s expression, once per stuck app, with the driver log link', async () => {
    const firing = await prom.waitFor('ALERTS{alertname="SparkAppStuck",alertstate="firing"}', (s) => s.length === PLAN.stuck);
    expect(firing.map((s) => s.metric.app_id).sort()).toEqual([...expected.stuckAppIds].sort());
    const alerts = (await prom.alerts()).filter((a) => a.state === 'firing');
    for (const a of alerts) expect(a.annotations.description).toContain(`/logs/${a.labels.app_id}/driver/stderr`);
  });

  it('sees a stuck app recover: its executors run, the alert for it ends', async () => {
    const [recovering] = [...expected.stuckAppIds].sort();
    for (const o of objects.filter((o) => o.kind === 'Pod' && o.metadata.labels?.['spark-app-selector'] === recovering && o.metadata.labels?.['spark-role'] === 'executor')) {
      apiserver.setPodPhase(o.metadata.namespace!, o.metadata.name, 'Running', { startTime: new Date().toISOString() });
    }
    await prom.waitFor('sum(sparkfn_monitor_stuck_apps)', (s) => s[0]?.value === PLAN.stuck - 1);
    const firing = await prom.waitFor('ALERTS{alertname="SparkAppStuck",alertstate="firing"}', (s) => s.length === PLAN.stuck - 1);
    expect(firing.map((s) => s.metric.app_id)).not.toContain(recovering);
  });

  it('exports every spark-monitor metric of the contract', async () => {
    const text = await (await fetch(`${serve.url}/metrics`)).text();
    const exported = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
    const withSeries = new Set([...text.matchAll(/^([a-z_:][a-z0-9_:]*)[{ ]/gm)].map((m) => m[1]!));
    const monitorMetrics = METRIC_CONTRACT.filter((m) => m.from === 'spark-monitor' || m.name === 'sparkfn_log_archiver_consumer_lag').map((m) => m.name);
    expect(monitorMetrics.filter((name) => !exported.has(name))).toEqual([]);
    expect(monitorMetrics.filter((name) => !ONLY_AFTER_AN_EVENT.has(name) && !withSeries.has(name))).toEqual([]);
  });
});
