import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../app/cli/main.js';
import { silentLogger } from '../../shared/logger.js';
import { Metrics } from '../../shared/metrics.js';
import { FileObjectStore } from '../../shared/store/fs-store.js';
import { printMonitorView } from '../../functions/spark-monitor/cli.js';
import { DEFAULT_MONITOR_SETTINGS } from '../../functions/spark-monitor/settings.js';
import type { MonitorView } from '../../functions/spark-monitor/view.js';
import { startTestApiserver, type TestApiserver } from '../support/apiserver/index.js';
import { allApps, expectedSeries, loadCluster, NOW, seriesKey, writeStoreSignals } from './cluster.js';

let apiserver: TestApiserver;
let dir: string;
const apps = allApps(200);
const expected = expectedSeries(apps);

beforeAll(async () => {
  apiserver = await startTestApiserver();
  loadCluster(apiserver, apps);
  dir = await mkdtemp(join(tmpdir(), 'spark-monitor-cli-'));
  await writeStoreSignals(new FileObjectStore(dir), apps);
});
afterAll(async () => {
  await apiserver.stop();
  await rm(dir, { recursive: true, force: true });
});

function io(env: Record<string, string>) {
  let out = '';
  let err = '';
  return { io: { out: (t: string) => void (out += t), err: (t: string) => void (err += t), env, stdin: process.stdin }, out: () => out, err: () => err };
}

async function view(output: 'table' | 'json'): Promise<{ text: string; view: MonitorView }> {
  let text = '';
  const deps = { store: new FileObjectStore(dir), metrics: new Metrics(), logger: silentLogger, clock: { now: () => NOW }, kubeConfig: apiserver.kubeConfig() };
  const result = await printMonitorView({ output }, deps, DEFAULT_MONITOR_SETTINGS, (t) => (text += t));
  return { text, view: result };
}

describe('sparkfn monitor', () => {
  it('-o json prints the view document: apps, stuck, leftovers and quota waits as the cluster has them', async () => {
    const { text } = await view('json');
    const doc = JSON.parse(text) as MonitorView;
    expect(Object.keys(doc)).toEqual(['at', 'apps', 'appsStartedToday', 'requested', 'quotas', 'pods', 'executors', 'topByMemoryTime', 'topByRuntime', 'leftovers', 'leftoversFailing', 'stuck', 'quotaWaiting', 'blocked']);
    expect(doc.at).toBe(NOW);
    for (const a of doc.apps) expect(a.count, `${a.namespace} ${a.state}`).toBe(expected.get(seriesKey('sparkfn_monitor_apps', { namespace: a.namespace, state: a.state })));
    expect(doc.apps.reduce((s, a) => s + a.count, 0)).toBe(200);
    expect(doc.stuck).toHaveLength([...expected].filter(([k]) => k.startsWith('sparkfn_monitor_stuck_apps')).reduce((s, [, v]) => s + v, 0));
    for (const l of doc.leftovers) expect(l.count).toBe(expected.get(seriesKey('sparkfn_monitor_leftovers', { kind: l.kind, age: l.age })));
    expect(doc.blocked.map((b) => b.waitingSeconds)).toEqual(doc.blocked.map(() => 45 * 60));
  });

  it('prints tables: apps by state, stuck apps, leftovers, spot mix, quota use', async () => {
    const { text, view: v } = await view('table');
    const longest = v.stuck[0]!;
    expect(text).toContain(`Stuck apps (${v.stuck.length})`);
    expect(text).toMatch(new RegExp(`${longest.namespace} +${longest.appId} +${longest.appName} +${longest.reason} +${Math.floor(longest.stuckSeconds / 60)}m00s`));
    const running = v.executors.reduce((s, e) => s + e.count, 0);
    expect(text).toContain(`Spot mix (running executors: ${running}; spot ${v.executors.filter((e) => e.capacity === 'spot').reduce((s, e) => s + e.count, 0)}`);
    expect(text).toMatch(/configmaps +\d+ +\d+ +\d+ +\d+ +8\n/);
    expect(text).toMatch(/spark-a +spark-quota +requests\.cpu +\d+ +2000 +\d+ %/);
  });

  it('runs from the command line against the configured cluster (exit 0), and refuses a bad -o or a missing cluster (exit 2)', async () => {
    const env = { SPARKFN_K8S_URL: apiserver.url, SPARKFN_K8S_TOKEN: apiserver.token, SPARKFN_STORE: `file://${dir}`, SPARKFN_LOG_LEVEL: 'silent' };
    const ok = io(env);
    expect(await main(['node', 'sparkfn', 'monitor', '-o', 'json'], ok.io)).toBe(0);
    expect((JSON.parse(ok.out()) as MonitorView).apps.reduce((s, a) => s + a.count, 0)).toBe(200);
    const bad = io(env);
    expect(await main(['node', 'sparkfn', 'monitor', '-o', 'yaml'], bad.io)).toBe(2);
    expect(bad.err()).toContain('-o takes table or json');
    const none = io({ SPARKFN_STORE: `file://${dir}`, KUBECONFIG: join(dir, 'missing-kubeconfig') });
    expect(await main(['node', 'sparkfn', 'monitor'], none.io)).toBe(2);
    expect(none.err()).toContain('KUBECONFIG names');
  });
});
