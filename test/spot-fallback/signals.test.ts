import { afterAll, beforeAll, beforeEach, afterEach, describe, expect, it } from 'vitest';
import { readSpotState } from '../../functions/spot-fallback/load-facts.js';
import { kubeSpotCluster } from '../../functions/spot-fallback/cluster.js';
import { createSpotFunction } from '../../functions/spot-fallback/handler.js';
import type { SpotCounters } from '../../functions/spot-fallback/signals.js';
import { breakerState } from '../../functions/spot-fallback/spot-breaker.js';
import { normalizeTrigger } from '../../shared/platform/normalize.js';
import { silentLogger } from '../../shared/logger.js';
import { startTestApiserver, type KubeObject, type TestApiserver } from '../support/apiserver/index.js';
import { loadEvent } from '../support/events.js';
import { startS3rver } from '../support/s3rver.js';
import { S3ObjectStore } from '../../shared/store/s3-store.js';
import { ManualClock } from '../../shared/clock.js';
import { baseDeps as harnessDeps, NS, tempStore, testSettings } from './harness.js';

/** The samples happened from 02:24:05 to 02:26:01: judged at 02:27, their breakers are still open. */
const baseDeps = (store: Parameters<typeof harnessDeps>[0]) => harnessDeps(store, new ManualClock(Date.UTC(2025, 4, 14, 2, 27)));

const APP = 'spark-4f9c2e7a1b3d4c5e8f6a7b8c9d0e1f2a';
const pod = (n: number) => `etl-orders-daily-7d3f9a2b1c8e4f60-exec-${n}`;
const ALL = ['cn-hangzhou-h/ecs.c6.xlarge', 'cn-hangzhou-h/ecs.g6.xlarge', 'cn-hangzhou-i/ecs.c6.xlarge', 'cn-hangzhou-i/ecs.g6.xlarge'];

interface Case {
  fixture: string;
  open: string[];
  counters: Partial<SpotCounters>;
  after?: (server: TestApiserver) => void;
}

const CASES: Case[] = [
  { fixture: 'no-stock', open: ALL, counters: { signals: 1, breakersOpened: 4, recycled: 1 }, after: (s) => expect(s.get('pods', NS, pod(3))).toBeUndefined() },
  { fixture: 'stock-exhaust', open: ALL.slice(0, 2), counters: { signals: 1, breakersOpened: 2, recycled: 1 } },
  { fixture: 'stock-close', open: ALL.slice(2), counters: { signals: 1, breakersOpened: 2, recycled: 1 } },
  { fixture: 'provider-create-failed', open: ALL, counters: { signals: 1, breakersOpened: 4, recycled: 1 } },
  {
    fixture: 'spot-degraded',
    open: ['cn-hangzhou-i/ecs.c6.xlarge'],
    counters: { signals: 1, breakersOpened: 1, relabelled: 1, recycled: 0 },
    after: (s) => {
      const p = s.get('pods', NS, pod(4))!;
      expect(p.metadata.labels?.['sparkfn.io/capacity']).toBe('on-demand-fallback');
      expect(p.metadata.annotations?.['sparkfn.io/spot-fallback-reason']).toMatch(/Spot \[ecs\.c6\.xlarge\] will be degraded/);
    },
  },
  {
    fixture: 'spot-to-be-released',
    open: ['cn-hangzhou-h/ecs.c6.xlarge'],
    counters: { signals: 1, breakersOpened: 1, reclaims: 1, evicted: 1 },
    after: (s) => {
      expect(s.get('pods', NS, pod(1))).toBeUndefined();
      expect(s.countCalls({ verb: 'create', resource: 'pods', subresource: 'eviction' })).toBe(1);
    },
  },
  { fixture: 'bid-failed', open: ['cn-hangzhou-i/ecs.g6.xlarge'], counters: { signals: 1, breakersOpened: 1, reclaims: 1, evicted: 0 } },
];

describe('spot-fallback signals from the events/ samples', () => {
  let server: TestApiserver;
  let temp: Awaited<ReturnType<typeof tempStore>>;

  beforeAll(async () => {
    server = await startTestApiserver();
  });
  afterAll(async () => {
    await server.stop();
  });
  beforeEach(async () => {
    temp = await tempStore();
    server.resetCalls();
    for (const p of server.list('pods', NS)) server.remove('pods', NS, p.metadata.name);
    for (const p of (loadEvent('spot-fallback/data/pods') as { items: KubeObject[] }).items) server.put(p);
  });
  afterEach(async () => {
    await temp.dispose();
  });

  it.each(CASES)('$fixture opens the breakers it names and acts on its pod', async ({ fixture, open, counters, after }) => {
    const deps = baseDeps(temp.store);
    const settings = testSettings({ evictOnReclaim: true });
    const fn = createSpotFunction({ settings, cluster: await kubeSpotCluster(server.kubeConfig()) });
    const result = (await fn.run(normalizeTrigger(loadEvent(`spot-fallback/${fixture}`)), deps)) as SpotCounters;
    expect(result).toMatchObject({ failed: 0, ...counters });
    const state = await readSpotState(temp.store, silentLogger, settings);
    const opened = [...state.breakers].filter(([, f]) => f.capacity.spot && breakerState(f.capacity.spot, deps.clock.now()) === 'open').map(([id]) => id);
    expect(opened.sort()).toEqual(open);
    after?.(server);
  });

  it('counts a reclaim once per pod: SpotToBeReleased and then BidFailed of the same pod', async () => {
    const deps = baseDeps(temp.store);
    const fn = createSpotFunction({ settings: testSettings(), cluster: await kubeSpotCluster(server.kubeConfig()) });
    await fn.run(normalizeTrigger(loadEvent('spot-fallback/spot-to-be-released')), deps);
    const failed = structuredClone(server.get('pods', NS, pod(1))!) as KubeObject & { status: Record<string, unknown> };
    failed.status = { phase: 'Failed', reason: 'BidFailed' };
    const second = (await fn.run({ kind: 'k8s-objects', source: 'test', changes: [{ type: 'MODIFIED', object: failed as never }] }, deps)) as SpotCounters;
    expect(second.reclaims).toBe(0);
    expect(second.signals).toBe(1);
    expect((await readSpotState(temp.store, silentLogger, testSettings())).apps.get(`${NS}/${APP}`)?.reclaims).toEqual({ 'cn-hangzhou-h': 1 });
    expect(server.get('pods', NS, pod(1))).toBeDefined();
  });

  it('never touches a driver: a NoStock about the driver is skipped', async () => {
    const deps = baseDeps(temp.store);
    const fn = createSpotFunction({ settings: testSettings({ recycleGraceMs: 0 }), cluster: await kubeSpotCluster(server.kubeConfig()) });
    const event = loadEvent('spot-fallback/no-stock') as { involvedObject: { name: string } };
    event.involvedObject.name = 'etl-orders-daily-7d3f9a2b1c8e4f60-driver';
    const result = (await fn.run(normalizeTrigger(event), deps)) as SpotCounters;
    expect(result).toMatchObject({ signals: 0, skipped: 1, skippedBy: { 'not-an-executor': 1 }, breakersOpened: 0 });
    expect(server.get('pods', NS, 'etl-orders-daily-7d3f9a2b1c8e4f60-driver')).toBeDefined();
  });

  it('in dry-run records the breaker but deletes nothing', async () => {
    const deps = baseDeps(temp.store);
    const fn = createSpotFunction({ settings: testSettings({ dryRun: true }), cluster: await kubeSpotCluster(server.kubeConfig()) });
    const result = (await fn.run(normalizeTrigger(loadEvent('spot-fallback/no-stock')), deps)) as SpotCounters;
    expect(result).toMatchObject({ breakersOpened: 4, recycled: 1 });
    expect(server.get('pods', NS, pod(3))).toBeDefined();
    expect(server.countCalls({ verb: 'delete', resource: 'pods' })).toBe(0);
  });

  it('counts each skip reason on its own (issue #15): unrelated events, no cluster, a pod that is gone', async () => {
    const deps = baseDeps(temp.store);
    const noStock = loadEvent('spot-fallback/no-stock') as { involvedObject: { name: string }; reason: string; message: string };
    const unrelated = { ...structuredClone(noStock), reason: 'Scheduled' };
    const notStockOut = { ...structuredClone(noStock), reason: 'ProviderCreateFailed', message: 'image pull failed' };
    const gone = structuredClone(noStock);
    gone.involvedObject.name = 'no-such-executor';
    const events = { kind: 'k8s-events' as const, source: 'test', events: [noStock, unrelated, unrelated, notStockOut, gone] as never[] };
    const withCluster = createSpotFunction({ settings: testSettings(), cluster: await kubeSpotCluster(server.kubeConfig()) });
    const withoutCluster = createSpotFunction({ settings: testSettings(), cluster: null });
    expect(await withCluster.run(events, deps)).toMatchObject({
      signals: 1,
      skipped: 4,
      skippedBy: { 'not-a-spot-signal': 2, 'not-a-stock-out': 1, 'pod-gone': 1 },
    });
    expect(await withoutCluster.run(events, deps)).toMatchObject({
      signals: 0,
      skipped: 5,
      skippedBy: { 'not-a-spot-signal': 2, 'not-a-stock-out': 1, 'no-cluster': 2 },
    });
  });

  it('throws when the store is down for every signal, so the platform retries the batch', async () => {
    const s3 = await startS3rver();
    const bucket = await s3.createBucket();
    const store = new S3ObjectStore({ bucket, endpoint: s3.endpoint, forcePathStyle: true, credentials: s3.credentials });
    await s3.stop();
    const fn = createSpotFunction({ settings: testSettings(), cluster: await kubeSpotCluster(server.kubeConfig()) });
    await expect(fn.run(normalizeTrigger(loadEvent('spot-fallback/no-stock')), baseDeps(store))).rejects.toThrow(/could not record any of 1 signal/);
    expect(server.get('pods', NS, pod(3))).toBeDefined();
  });
});
