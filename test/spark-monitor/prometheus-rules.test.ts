import { existsSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METRIC_CONTRACT, metricNames, PROMETHEUS_SERIES } from '../fixtures/spark-monitor/metric-contract.js';
import { promtool, ruleGroupsOf, type RuleGroups } from '../support/prometheus.js';

const MONITORING_DIR = fileURLToPath(new URL('../../deploy/monitoring/', import.meta.url));
const RULE_MANIFEST = join(MONITORING_DIR, 'prometheus-rule.yaml');
const RULE_TESTS = fileURLToPath(new URL('../fixtures/spark-monitor/rules-tests.yml', import.meta.url));
/** The name the promtool test file loads (its `rule_files`). */
const RULES_FILE_NAME = 'sparkfn.rules.yml';
const SEVERITIES = ['critical', 'warning', 'info'] as const;
/** The log viewer's route for a driver's log (functions/log-viewer/README.md). */
const DRIVER_LOG_LINK = '/logs/{{ $labels.app_id }}/driver/stderr';

/** monitoring.coreos.com/v1 PrometheusRule as the Prometheus Operator's CRD schema has it (the parts we use), strict. */
const DURATION = /^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$/;
const Rule = z
  .strictObject({
    alert: z.string().regex(/^[A-Z][A-Za-z0-9]+$/).optional(),
    record: z.string().optional(),
    expr: z.string().min(1),
    for: z.string().regex(DURATION).optional(),
    labels: z.record(z.string(), z.string()).optional(),
    annotations: z.record(z.string(), z.string()).optional(),
  })
  .refine((r) => (r.alert === undefined) !== (r.record === undefined), 'a rule has exactly one of alert and record');
const PrometheusRuleSchema = z.strictObject({
  apiVersion: z.literal('monitoring.coreos.com/v1'),
  kind: z.literal('PrometheusRule'),
  metadata: z.strictObject({ name: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/), namespace: z.string(), labels: z.record(z.string(), z.string()).optional() }),
  spec: z.strictObject({ groups: z.array(z.strictObject({ name: z.string().min(1), interval: z.string().regex(DURATION).optional(), rules: z.array(Rule).min(1) })).min(1) }),
});
/** Our own policy on top of the schema: every alert says how bad, what, why, and what to do. */
const AlertPolicy = z.object({
  alert: z.string(),
  labels: z.object({ severity: z.enum(SEVERITIES) }),
  annotations: z.strictObject({ summary: z.string().min(10), description: z.string().min(20), runbook: z.string().min(20) }),
});

interface PromtoolTestFile {
  rule_files: string[];
  tests: { name: string; alert_rule_test?: { eval_time: string; alertname: string; exp_alerts: unknown[] }[] }[];
}

const manifest = parse(readFileSync(RULE_MANIFEST, 'utf8')) as Record<string, unknown>;
const groups = ruleGroupsOf(manifest);
const alerts = groups.groups.flatMap((g) => g.rules.filter((r) => r.alert));
const testFile = parse(readFileSync(RULE_TESTS, 'utf8')) as PromtoolTestFile;

describe('deploy/monitoring: the PrometheusRule', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sparkfn-rules-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** promtool test rules with `rules` in place of the shipped ones; the test file is the shipped one. */
  async function testRules(rules: RuleGroups, name: string) {
    const caseDir = join(dir, name);
    await mkdir(caseDir);
    await writeFile(join(caseDir, RULES_FILE_NAME), stringify(rules));
    await copyFile(RULE_TESTS, join(caseDir, 'rules-tests.yml'));
    return promtool(['test', 'rules', 'rules-tests.yml'], caseDir);
  }

  it('is a valid monitoring.coreos.com/v1 PrometheusRule in namespace sparkfn', () => {
    expect(() => PrometheusRuleSchema.parse(manifest)).not.toThrow();
    expect((manifest.metadata as { namespace: string }).namespace).toBe('sparkfn');
    expect(parseAllDocuments(readFileSync(RULE_MANIFEST, 'utf8'))).toHaveLength(1);
  });

  it('the schema check can fail: a rule with both alert and record, a bad duration, an unknown field', () => {
    const spoilt = (change: (m: { spec: RuleGroups }) => void) => {
      const copy = structuredClone(manifest) as { spec: RuleGroups };
      change(copy);
      return () => PrometheusRuleSchema.parse(copy);
    };
    expect(spoilt((m) => (m.spec.groups[0]!.rules[0]!.record = 'x:y'))).toThrow(/exactly one of alert and record/);
    expect(spoilt((m) => (m.spec.groups[0]!.rules[0]!.for = '5 minutes'))).toThrow();
    expect(spoilt((m) => Object.assign(m.spec.groups[0]!.rules[0]!, { severity: 'warning' }))).toThrow();
  });

  it.each(alerts.map((a) => [a.alert!, a] as const))('%s has a severity, a summary, a description and a runbook', (_name, alert) => {
    expect(() => AlertPolicy.parse(alert)).not.toThrow();
  });

  it('every alert about one app links to its driver log', () => {
    const perApp = alerts.filter((a) => /\bapp_id\b/.test(a.expr));
    expect(perApp.map((a) => a.alert)).toEqual(['SparkAppStuck']);
    for (const a of perApp) expect(a.annotations!.description).toContain(DRIVER_LOG_LINK);
  });

  it('covers what issue 17 asks for: stuck app, quota above 90 % for 10 min, leftovers, spot fallback rate, dead letters, consumer lag, a component down', () => {
    const byName = new Map(alerts.map((a) => [a.alert!, a]));
    expect(byName.get('SparkAppStuck')!.expr).toContain('sparkfn_monitor_stuck_app');
    expect(byName.get('SparkQuotaNearlyFull')).toMatchObject({ for: '10m', expr: expect.stringMatching(/> 0\.9$/) });
    expect(byName.get('SparkLeftoversHigh')!.expr).toContain('sparkfn_monitor_leftovers');
    expect(byName.get('SparkSpotFallbackRateHigh')!.expr).toContain('sparkfn_spot_admission_decisions_total');
    expect(byName.get('SparkLogDeadLetters')!.expr).toContain('sparkfn_log_archiver_dead_letters_total');
    expect(byName.get('SparkLogArchiverConsumerLag')!.expr).toContain('sparkfn_log_archiver_consumer_lag');
    expect(byName.get('SparkfnComponentDown')!.expr).toContain('sparkfn_component_up');
    expect(byName.get('SparkfnTargetDown')!.expr).toMatch(/^up\{/);
  });

  it('refers only to metrics of the contract (spark-monitor’s and those other functions export)', () => {
    const known = new Set<string>([...METRIC_CONTRACT.map((m) => m.name), ...PROMETHEUS_SERIES]);
    const used = alerts.flatMap((a) => [...metricNames(a.expr)].map((name) => [a.alert, name] as const));
    expect(used.filter(([, name]) => !known.has(name))).toEqual([]);
    for (const alert of alerts) expect(metricNames(alert.expr).size, alert.alert).toBeGreaterThan(0);
  });

  it('promtool check rules accepts the extracted rule file', async () => {
    const file = join(dir, RULES_FILE_NAME);
    await writeFile(file, stringify(groups));
    const result = await promtool(['check', 'rules', file]);
    expect(result.output).toContain(`SUCCESS: ${alerts.length} rules found`);
    expect(result.code).toBe(0);
  });

  it('promtool check rules fails on a broken expression, so the check above can fail', async () => {
    const broken = structuredClone(groups);
    broken.groups[0]!.rules[0]!.expr = 'max by (namespace (sparkfn_monitor_stuck_app)';
    const file = join(dir, 'broken.rules.yml');
    await writeFile(file, stringify(broken));
    const result = await promtool(['check', 'rules', file]);
    expect(result.code).toBe(1);
    expect(result.output).toMatch(/FAILED/);
  });

  it('has promtool unit tests for every alert: at least one where it fires and one where it stays silent', () => {
    expect(testFile.rule_files).toEqual([RULES_FILE_NAME]);
    const cases = testFile.tests.flatMap((t) => t.alert_rule_test ?? []);
    for (const alert of alerts) {
      const mine = cases.filter((c) => c.alertname === alert.alert);
      expect(mine.some((c) => c.exp_alerts.length > 0), `${alert.alert} never expected to fire`).toBe(true);
      expect(mine.some((c) => c.exp_alerts.length === 0), `${alert.alert} never expected to stay silent`).toBe(true);
    }
    expect(new Set(cases.map((c) => c.alertname))).toEqual(new Set(alerts.map((a) => a.alert)));
  });

  it('promtool test rules passes', async () => {
    const result = await testRules(groups, 'shipped');
    expect(result.output).toContain('SUCCESS');
    expect(result.code).toBe(0);
  });

  // Each mutant must be caught by the unit tests: they pin both the threshold and the `for`.
  const mutants = alerts.flatMap((alert) => {
    type MutableRule = RuleGroups['groups'][number]['rules'][number];
    const flipped = flipLastComparison(alert.expr);
    return [
      [`${alert.alert}: the comparison flipped (${flipped})`, alert.alert!, (r: MutableRule) => (r.expr = flipped)] as const,
      ...(alert.for ? ([[`${alert.alert}: without its for: ${alert.for}`, alert.alert!, (r: MutableRule) => delete r.for]] as const) : []),
    ];
  });
  it.each(mutants.map((m, i) => [...m, i] as const))('promtool test rules fails for a mutant, %s', async (_name, alertName, mutate, index) => {
    const mutant = structuredClone(groups);
    const rule = mutant.groups.flatMap((g) => g.rules).find((r) => r.alert === alertName)!;
    mutate(rule);
    const result = await testRules(mutant, `mutant-${index}`);
    expect(result.code).toBe(1);
    expect(result.output).toContain(`alertname: ${alertName}`);
  });

  it('deploy/monitoring/kustomization.yaml lists the rule and the ServiceMonitor and makes the dashboard a Grafana sidecar ConfigMap', () => {
    const kustomization = parse(readFileSync(join(MONITORING_DIR, 'kustomization.yaml'), 'utf8')) as {
      resources: string[];
      configMapGenerator: { name: string; namespace: string; files: string[]; options: { labels: Record<string, string> } }[];
    };
    expect([...kustomization.resources].sort()).toEqual(['prometheus-rule.yaml', 'service-monitor.yaml']);
    for (const file of kustomization.resources) expect(existsSync(join(MONITORING_DIR, file))).toBe(true);
    const [dashboard] = kustomization.configMapGenerator;
    expect(dashboard).toMatchObject({ namespace: 'sparkfn', options: { labels: { grafana_dashboard: '1' } } });
    expect(dashboard!.files.map((f) => f.split('=').pop())).toEqual(['grafana-dashboard.json']);
  });

  it('the ServiceMonitor scrapes the sparkfn Service’s https port, and SparkfnTargetDown matches the job it makes', () => {
    const monitor = parse(readFileSync(join(MONITORING_DIR, 'service-monitor.yaml'), 'utf8')) as {
      apiVersion: string;
      kind: string;
      spec: { selector: { matchLabels: Record<string, string> }; endpoints: { port: string; scheme: string; path: string }[] };
    };
    expect(`${monitor.apiVersion}/${monitor.kind}`).toBe('monitoring.coreos.com/v1/ServiceMonitor');
    const service = parseAllDocuments(readFileSync(join(MONITORING_DIR, '../spot-fallback/webhook.yaml'), 'utf8'))
      .map((d) => d.toJS() as { kind: string; metadata: { name: string; labels: Record<string, string> }; spec: { ports: { name: string }[] } })
      .find((d) => d.kind === 'Service')!;
    expect(service.metadata.labels).toMatchObject(monitor.spec.selector.matchLabels);
    expect(monitor.spec.endpoints).toEqual([expect.objectContaining({ port: service.spec.ports[0]!.name, scheme: 'https', path: '/metrics' })]);
    // The operator names the job after the Service.
    const jobMatcher = /job=~"([^"]+)"/.exec(alerts.find((a) => a.alert === 'SparkfnTargetDown')!.expr)![1]!;
    expect(service.metadata.name).toMatch(new RegExp(`^(?:${jobMatcher})$`));
  });
});

/** `a > 5` → `a <= 5`, `a == 0` → `a != 0`: the last comparison of an alert expression, negated. */
function flipLastComparison(expr: string): string {
  const match = /(.*)\s(>|==)\s([^\s]+)\s*$/s.exec(expr);
  if (!match) throw new Error(`no trailing comparison in ${expr}`);
  return `${match[1]} ${match[2] === '>' ? '<=' : '!='} ${match[3]}`;
}
