import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../functions/janitor/audit.js';
import { cleanUp, type JanitorSummary } from '../../functions/janitor/clean-up.js';
import type { JanitorDeps } from '../../functions/janitor/deps.js';
import { ManualClock } from '../../shared/clock.js';
import { silentLogger } from '../../shared/logger.js';
import { Metrics } from '../../shared/metrics.js';
import { getBuffer, listAll } from '../../shared/store/read.js';
import { startTestApiserver, type TestApiserver } from '../support/apiserver/index.js';
import { concurrencySeeds, deliverBothWays, fileStoreFactory, s3StoreFactory, type DeliveryPlan, type StoreFactory } from '../support/concurrency.js';
import { startS3rver, type S3rverHarness } from '../support/s3rver.js';
import { appObjects, HOUR, iso, NOW, ref, TEST_SETTINGS } from '../janitor/cluster.js';
import { CountingStore } from '../quota-retry/counting-store.js';

const NAMESPACES = ['a', 'b', 'c'] as const;
type Logical = (typeof NAMESPACES)[number];
/** Which namespaces each janitor run cleans: overlapping, so runs meet on the same apps. */
const SCOPES: Logical[][] = [['a'], ['b'], ['c'], ['a', 'b'], ['b', 'c'], ['a', 'b', 'c']];
const RESOURCE_KIND: Record<string, string> = { 'executor-pods': 'Pod', 'driver-pod': 'Pod', configmaps: 'ConfigMap', services: 'Service', ingresses: 'Ingress', sparkapplication: 'SparkApplication' };

interface App {
  ns: Logical;
  appId: string;
  /** Finished before the events start; else running until its `finish` event. */
  finishedAtStart: boolean;
}

type Event = { kind: 'finish'; app: App } | { kind: 'janitor'; scope: Logical[] };

const APPS: App[] = Array.from({ length: 42 }, (_, i) => ({ ns: NAMESPACES[i % 3]!, appId: `spark-c-${String(i).padStart(3, '0')}`, finishedAtStart: i % 3 === 0 }));

/** 28 apps finishing and 26 janitor runs, interleaved: 54 events on the same cluster and audit. */
function events(): Event[] {
  const out: Event[] = [];
  const finishing = APPS.filter((a) => !a.finishedAtStart);
  for (let i = 0; i < 26; i++) {
    out.push({ kind: 'janitor', scope: SCOPES[i % SCOPES.length]! });
    for (const app of finishing.slice(i * 28 / 26, (i + 1) * 28 / 26)) out.push({ kind: 'finish', app });
  }
  return out;
}

interface World {
  ns: Record<Logical, string>;
  store: CountingStore;
  cleanup(): Promise<void>;
  deps: JanitorDeps;
  summaries: JanitorSummary[];
  janitorDeliveryRequests: number;
}

interface Snapshot {
  left: string[];
  audited: string[];
  records: number;
  recordsCompleted: number;
  wal: string[];
  deletedCounted: number;
  deletedByKindCounted: Record<string, number>;
  cleanedCounted: number;
  metrics: string[];
}

let worlds = 0;
const requestsPerRun: number[] = [];

function plan(server: TestApiserver, stores: StoreFactory): DeliveryPlan<Event, World, Snapshot> {
  const runJanitor = async (world: World, scope: readonly Logical[]) => {
    const { summary } = await cleanUp(world.deps, { ...TEST_SETTINGS, namespaces: scope.map((n) => world.ns[n]) });
    world.summaries.push(summary);
  };
  const refsIn = (world: World) => {
    const out: string[] = [];
    for (const resource of ['pods', 'configmaps', 'services', 'ingresses.networking.k8s.io']) {
      for (const n of NAMESPACES) for (const o of server.list(resource, world.ns[n])) out.push(ref(o.kind!, n, o.metadata.name));
    }
    return out.sort();
  };
  return {
    events: events(),
    async setUp() {
      const id = ++worlds;
      const ns = { a: `jc-${id}-a`, b: `jc-${id}-b`, c: `jc-${id}-c` };
      for (const [i, app] of APPS.entries()) {
        const spec = { namespace: ns[app.ns], appId: app.appId, executors: 2, configmaps: 1 + (i % 2), services: 1, ingresses: i % 4 === 0 ? 1 : 0 };
        const objects = app.finishedAtStart ? appObjects({ ...spec, driverPhase: 'Succeeded', finishedAt: NOW - 3 * HOUR }) : appObjects({ ...spec, driverPhase: 'Running', createdAt: NOW - 5 * HOUR });
        for (const o of objects) server.put(o);
      }
      const { store: inner, cleanup } = await stores();
      const store = new CountingStore(inner);
      // Time stands still: every run sees the same clock, whichever way the events come.
      const deps: JanitorDeps = { store, clock: new ManualClock(NOW), logger: silentLogger, metrics: new Metrics(), kubeConfig: server.kubeConfig() };
      return { ns, store, cleanup, deps, summaries: [], janitorDeliveryRequests: 0 };
    },
    async deliver(world, event) {
      if (event.kind === 'janitor') return runJanitor(world, event.scope);
      const finishedAt = iso(NOW - 2 * HOUR);
      server.setPodPhase(world.ns[event.app.ns], `${event.app.appId}-driver`, 'Succeeded', {
        containerStatuses: [{ name: 'spark-kubernetes-driver', state: { terminated: { exitCode: 0, startedAt: iso(NOW - 4 * HOUR), finishedAt } } }],
      });
    },
    async settle(world) {
      // Only janitor runs used the store so far.
      world.janitorDeliveryRequests = world.store.total();
      await runJanitor(world, NAMESPACES);
    },
    async snapshot(world) {
      const logical = (text: string) => text.replaceAll(world.ns.a, 'a').replaceAll(world.ns.b, 'b').replaceAll(world.ns.c, 'c');
      const records: AuditRecord[] = [];
      const wal: string[] = [];
      for await (const o of listAll(world.store, 'audit/janitor/')) {
        if (o.key.startsWith('audit/janitor/wal/')) wal.push(o.key);
        else records.push(JSON.parse((await getBuffer(world.store, o.key)).toString('utf8')) as AuditRecord);
      }
      const audited = new Map<string, number>();
      for (const r of records) {
        for (const app of r.apps) for (const k of app.kinds) for (const name of k.deleted) {
          const key = logical(ref(RESOURCE_KIND[k.kind]!, app.namespace, name));
          audited.set(key, (audited.get(key) ?? 0) + 1);
        }
      }
      const deletedByKindCounted: Record<string, number> = {};
      for (const s of world.summaries) for (const [k, v] of Object.entries(s.deletedByKind)) deletedByKindCounted[k] = (deletedByKindCounted[k] ?? 0) + v;
      return {
        left: refsIn(world).map(logical),
        audited: [...audited].map(([r, n]) => `${r} x${n}`).sort(),
        records: records.length,
        recordsCompleted: records.filter((r) => r.completedBy).length,
        wal,
        deletedCounted: world.summaries.reduce((n, s) => n + s.deleted, 0),
        deletedByKindCounted,
        cleanedCounted: world.summaries.reduce((n, s) => n + s.cleaned, 0),
        metrics: (await world.deps.metrics.text()).split('\n').filter((l) => /^sparkfn_janitor_(objects_deleted_total|apps_cleaned_total)\{/.test(l)).sort(),
      };
    },
    async tearDown(world) {
      requestsPerRun.push(world.janitorDeliveryRequests / (events().filter((e) => e.kind === 'janitor').length * 2));
      await world.cleanup();
    },
  };
}

describe.each([
  ['filesystem store', 'fs'],
  ['s3rver', 's3'],
] as const)('janitor under concurrency, %s', (_name, kind) => {
  let server: TestApiserver;
  let s3: S3rverHarness | undefined;
  beforeAll(async () => {
    server = await startTestApiserver({ seed: 12 });
    if (kind === 's3') s3 = await startS3rver();
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    await s3?.stop();
    const mean = (parity: number) => {
      const xs = requestsPerRun.filter((_, i) => i % 2 === parity);
      return (xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length)).toFixed(2);
    };
    if (requestsPerRun.length) console.log(`janitor (${kind}): store requests per janitor run: ${mean(0)} one by one, ${mean(1)} all at once`);
    requestsPerRun.length = 0;
  });

  it.each(concurrencySeeds())('54 events one by one and all at once, each twice, seed %i: same cluster, every deletion audited once, same counts and metrics', async (seed) => {
    const stores = kind === 'fs' ? fileStoreFactory() : s3StoreFactory(() => s3!);
    const { oneByOne, allAtOnce } = await deliverBothWays(plan(server, stores), seed);
    expect(allAtOnce, `seed ${seed}`).toEqual(oneByOne);
    // And right: every app finished, so everything of every app is gone, each deletion in exactly one record.
    const objects = APPS.flatMap((app, i) => appObjects({ namespace: app.ns, appId: app.appId, driverPhase: 'Succeeded', executors: 2, configmaps: 1 + (i % 2), services: 1, ingresses: i % 4 === 0 ? 1 : 0 }));
    expect(oneByOne.left, `seed ${seed}`).toEqual([]);
    expect(oneByOne.audited, `seed ${seed}`).toEqual(objects.map((o) => `${ref(o.kind!, o.metadata.namespace!, o.metadata.name)} x1`).sort());
    expect(oneByOne.deletedCounted, `seed ${seed}`).toBe(objects.length);
    expect(oneByOne.cleanedCounted, `seed ${seed}`).toBe(APPS.length);
    expect(oneByOne.wal, `seed ${seed}`).toEqual([]);
    expect(oneByOne.records, `seed ${seed}`).toBe(events().filter((e) => e.kind === 'janitor').length * 2 + 1);
  }, 300_000);
});
