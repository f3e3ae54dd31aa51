import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../shared/logger.js';
import { Metrics } from '../../shared/metrics.js';
import { FileObjectStore } from '../../shared/store/fs-store.js';
import { run } from '../../functions/spark-monitor/handler.js';
import { DEFAULT_MONITOR_SETTINGS, type MonitorSettings } from '../../functions/spark-monitor/settings.js';
import { startTestApiserver, type TestApiserver } from '../support/apiserver/index.js';
import { allApps, expectedSeries, loadCluster, NOW, parseMonitorGauges, TOP_N, writeStoreSignals } from './cluster.js';

const settings: MonitorSettings = { ...DEFAULT_MONITOR_SETTINGS, topN: TOP_N };
let apiserver: TestApiserver;
let dir: string;
const apps = allApps();

beforeAll(async () => {
  apiserver = await startTestApiserver();
  loadCluster(apiserver, apps);
  dir = await mkdtemp(join(tmpdir(), 'spark-monitor-'));
});
afterAll(async () => {
  await apiserver.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('spark-monitor from a list snapshot (the FC / Lambda timer)', () => {
  it('shows exactly the known state of 1,000 apps on /metrics', async () => {
    const store = new FileObjectStore(dir);
    await writeStoreSignals(store, apps);
    const metrics = new Metrics();
    const deps = { store, metrics, logger: silentLogger, clock: { now: () => NOW }, kubeConfig: apiserver.kubeConfig() };

    const summary = await run({ kind: 'schedule', source: 'test-timer', time: NOW }, deps, settings);

    expect(summary).toMatchObject({ mode: 'list', apps: 1000, running: 600, stuck: 100, blocked: 34 });
    // Paginated: every collection in pages of 500.
    expect(apiserver.countCalls({ verb: 'list', resource: 'pods' })).toBeGreaterThanOrEqual(Math.ceil(apps.flatMap((a) => a.pods).length / 500));
    const actual = parseMonitorGauges(await metrics.text());
    const expected = expectedSeries(apps);
    expect(Object.fromEntries([...actual].sort())).toEqual(Object.fromEntries([...expected].sort()));
  });
});
