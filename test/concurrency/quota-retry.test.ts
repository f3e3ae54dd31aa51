import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../functions/quota-retry/handler.js';
import type { QuotaRetryDeps } from '../../functions/quota-retry/quota-retry-deps.js';
import type { QuotaRetrySummary } from '../../functions/quota-retry/summary.js';
import { ManualClock } from '../../shared/clock.js';
import { createKubeClients, type KubeClients } from '../../shared/k8s/client.js';
import { silentLogger } from '../../shared/logger.js';
import { Metrics } from '../../shared/metrics.js';
import { getBuffer, listAll } from '../../shared/store/read.js';
import { startTestApiserver, type TestApiserver } from '../support/apiserver/index.js';
import { concurrencySeeds, deliverBothWays, fileStoreFactory, s3StoreFactory, type DeliveryPlan, type StoreFactory } from '../support/concurrency.js';
import { startS3rver, type S3rverHarness } from '../support/s3rver.js';
import { CountingStore } from '../quota-retry/counting-store.js';
import { driverPod, FUNCTION_TOKEN, FUNCTION_USER, putQuota, testSettings, webhookRequest } from '../quota-retry/support.js';

/** A real kube-apiserver Status body from the shared fixtures. */
const fixture = (name: string) => JSON.parse(readFileSync(`/work/shared/fixtures/k8s/${name}.json`, 'utf8')) as Record<string, unknown>;

const NAMESPACES = ['a', 'b'] as const;
type Logical = (typeof NAMESPACES)[number];
const CREATED_BY = 'sparkfn.io/created-by-run';
/** Deliveries of one event that failed before it is given up (see invoke). */
const REDELIVERIES = 3;

/** How a submitter's create failed, and so what the webhook is told. */
type Failure = 'exceeded' | 'conflict' | 'retried' | 'already-exists' | 'forbidden';

interface Submission {
  id: string;
  ns: Logical;
  failure: Failure;
  priority: number;
  department: string;
}

type Event = { kind: 'webhook'; submission: Submission } | { kind: 'drain' } | { kind: 'quota-change'; ns: Logical };

const FAILURES: readonly Failure[] = ['exceeded', 'conflict', 'exceeded', 'conflict', 'retried', 'exceeded', 'conflict', 'already-exists', 'exceeded', 'forbidden'];
const DEPARTMENTS = ['analytics', 'etl', 'ml'];

/** 40 submissions into two namespaces, 10 timer drains, 4 ResourceQuota changes: 54 events on one queue. */
function events(): Event[] {
  const submissions: Submission[] = Array.from({ length: 40 }, (_, i) => ({
    id: `sub-${String(i).padStart(2, '0')}`,
    ns: i % 5 < 3 ? 'a' : 'b',
    failure: FAILURES[i % FAILURES.length]!,
    priority: i % 7 === 0 ? 10 : 0,
    department: DEPARTMENTS[i % DEPARTMENTS.length]!,
  }));
  const out: Event[] = [];
  submissions.forEach((submission, i) => {
    out.push({ kind: 'webhook', submission });
    if (i % 4 === 3) out.push({ kind: 'drain' });
    if (i % 10 === 9) out.push({ kind: 'quota-change', ns: NAMESPACES[Math.floor(i / 10) % 2]! });
  });
  return out;
}

interface World {
  id: number;
  ns: Record<Logical, string>;
  store: CountingStore;
  cleanup(): Promise<void>;
  deps: QuotaRetryDeps;
  submitter: KubeClients;
  summaries: QuotaRetrySummary[];
  deliveryRequests: number;
}

interface Snapshot {
  pods: string[];
  createdByQuotaRetry: number;
  createdByTheSubmitter: number;
  admittedCounted: number;
  deadLetteredCounted: number;
  pending: string[];
  admittedFacts: string[];
  deadLetters: string[];
  metrics: string[];
}

function manifestOf(s: Submission): Record<string, unknown> {
  return driverPod(`${s.id}-driver`, { cpu: '1', memory: '1Gi', department: s.department });
}

function errorOf(failure: Failure): Record<string, unknown> {
  switch (failure) {
    case 'exceeded':
    case 'retried':
      return fixture('403-exceeded-quota');
    case 'conflict':
      return fixture('409-conflict-resourcequota');
    case 'already-exists':
      return fixture('409-already-exists');
    case 'forbidden':
      return fixture('403-rbac-forbidden');
  }
}

let worlds = 0;

function plan(server: TestApiserver, stores: StoreFactory): DeliveryPlan<Event, World, Snapshot> {
  const settings = testSettings();
  const drainInput = (deps: QuotaRetryDeps) => ({ kind: 'schedule' as const, source: 'local', time: deps.clock.now() });
  const invoke = async (world: World, input: Parameters<typeof run>[0]) => {
    let result: Awaited<ReturnType<typeof run>> | undefined;
    // s3rver answers 500 to a list that races a delete (its filesystem backend). A run that throws has
    // done nothing yet (it failed reading the queue), and FC, Lambda and webhook callers deliver a failed
    // invocation again: so does this test, a bounded number of times.
    for (let attempt = 1; !result; attempt++) {
      try {
        result = await run(input, world.deps, settings);
      } catch (err) {
        if (attempt >= REDELIVERIES) throw err;
      }
    }
    const summary = 'trigger' in result ? result : (JSON.parse(String(result.body)) as { summary?: QuotaRetrySummary }).summary;
    if (summary) world.summaries.push(summary);
  };
  return {
    events: events(),
    async setUp() {
      const id = ++worlds;
      const ns = { a: `cq-${id}-a`, b: `cq-${id}-b` };
      for (const logical of NAMESPACES) putQuota(server, ns[logical], { pods: '100', 'requests.cpu': '100', 'limits.cpu': '100' });
      const { store: inner, cleanup } = await stores();
      const store = new CountingStore(inner);
      const submitter = await createKubeClients(server.kubeConfig());
      // The submitter's earlier attempt made these drivers already (its answer was lost, or it says AlreadyExists).
      for (const s of events().flatMap((e) => (e.kind === 'webhook' && (e.submission.failure === 'retried' || e.submission.failure === 'already-exists') ? [e.submission] : []))) {
        const pod = manifestOf(s) as { metadata: Record<string, unknown> };
        server.put({ ...pod, metadata: { ...pod.metadata, namespace: ns[s.ns] } } as never);
      }
      const deps: QuotaRetryDeps = {
        store,
        // Time stands still while events are delivered: both ways see the same clock.
        clock: new ManualClock(Date.UTC(2025, 4, 14, 3, 0, 0)),
        logger: silentLogger,
        metrics: new Metrics(),
        cluster: await createKubeClients(server.kubeConfig({ token: FUNCTION_TOKEN })),
        random: () => 0.5,
        sleep: async () => {
          await new Promise<void>((resolve) => setImmediate(resolve));
          return true;
        },
      };
      return { id, ns, store, cleanup, deps, submitter, summaries: [], deliveryRequests: 0 };
    },
    async deliver(world, event) {
      if (event.kind === 'drain') await invoke(world, drainInput(world.deps));
      else if (event.kind === 'quota-change') {
        const quota = server.get('resourcequotas', world.ns[event.ns], 'spark-quota')!;
        await invoke(world, { kind: 'k8s-objects', source: 'local', changes: [{ type: 'MODIFIED', object: quota as never }] });
      } else {
        const s = event.submission;
        const body = { submissionId: s.id, namespace: world.ns[s.ns], manifest: manifestOf(s), error: errorOf(s.failure), attempt: s.failure === 'retried' ? 2 : 1, priority: s.priority, department: s.department };
        await invoke(world, webhookRequest(body));
      }
    },
    async settle(world) {
      // setUp makes no store request: everything so far was the deliveries'.
      world.deliveryRequests = world.store.total();
      // Bounded: the quota fits every submission, so one drain normally empties the queue.
      for (let i = 0; i < 5; i++) {
        const pending = [];
        for await (const o of listAll(world.store, 'queue/pending/')) pending.push(o.key);
        if (pending.length === 0) break;
        await invoke(world, drainInput(world.deps));
      }
    },
    async snapshot(world) {
      const logical = (text: string) => text.replaceAll(world.ns.a, 'A').replaceAll(world.ns.b, 'B');
      const pods = NAMESPACES.flatMap((n) => server.list('pods', world.ns[n]).map((p) => ({ ns: n, pod: p })));
      const keys = async (prefix: string) => {
        const out: string[] = [];
        for await (const o of listAll(world.store, prefix)) out.push(o.key);
        return out;
      };
      const admittedFacts: string[] = [];
      for (const key of await keys('queue/admitted/')) admittedFacts.push(logical(`${key} ${(await getBuffer(world.store, key)).toString('utf8')}`));
      const deadLetters: string[] = [];
      for (const key of await keys('deadletter/quota-retry/')) {
        const letter = JSON.parse((await getBuffer(world.store, key)).toString('utf8')) as { reason: string };
        deadLetters.push(logical(`${key} ${letter.reason}`));
      }
      const metrics = (await world.deps.metrics.text())
        .split('\n')
        .filter((line) => /^sparkfn_quota_retry_(admissions_total|permanent_failures_total)\{/.test(line))
        .map(logical)
        .sort();
      const ourCreates = server.calls.filter((c) => c.user === FUNCTION_USER && c.verb === 'create' && c.resource === 'pods' && c.code === 201 && (c.namespace === world.ns.a || c.namespace === world.ns.b)).length;
      const createdByQuotaRetry = pods.filter((p) => p.pod.metadata.annotations?.[CREATED_BY]).length;
      expect(createdByQuotaRetry, 'pods marked by quota-retry = its successful creates').toBe(ourCreates);
      return {
        pods: pods.map((p) => `${p.ns}/${p.pod.metadata.name} ${p.pod.metadata.annotations?.['sparkfn.io/submission-id'] ?? '(submitter)'}`).sort(),
        createdByQuotaRetry,
        createdByTheSubmitter: pods.length - createdByQuotaRetry,
        admittedCounted: world.summaries.reduce((n, s) => n + s.admitted, 0),
        deadLetteredCounted: world.summaries.reduce((n, s) => n + s.deadLettered, 0),
        pending: (await keys('queue/pending/')).map(logical),
        admittedFacts: admittedFacts.sort(),
        deadLetters: deadLetters.sort(),
        metrics,
      };
    },
    async tearDown(world) {
      requestsPerEvent.push(world.deliveryRequests / (events().length * 2));
      await world.cleanup();
    },
  };
}

const requestsPerEvent: number[] = [];

describe.each([
  ['filesystem store', 'fs'],
  ['s3rver', 's3'],
] as const)('quota-retry under concurrency, %s', (_name, kind) => {
  let server: TestApiserver;
  let s3: S3rverHarness | undefined;
  beforeAll(async () => {
    server = await startTestApiserver({ seed: 11 });
    server.addUser(FUNCTION_TOKEN, FUNCTION_USER);
    // Every fifth quota-tracked create loses the race on the ResourceQuota object: retries interleave with other invocations.
    server.faults.quotaConflicts({ probability: 0.2 });
    if (kind === 's3') s3 = await startS3rver();
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    await s3?.stop();
    // deliverBothWays runs one by one, then all at once, for each seed.
    const mean = (parity: number) => {
      const xs = requestsPerEvent.filter((_, i) => i % 2 === parity);
      return (xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length)).toFixed(2);
    };
    if (requestsPerEvent.length) console.log(`quota-retry (${kind}): store requests per delivered event: ${mean(0)} one by one, ${mean(1)} all at once`);
    requestsPerEvent.length = 0;
  });

  it.each(concurrencySeeds())('54 events one by one and all at once, each twice, seed %i: same drivers, facts, counts and metrics; admitted = drivers created', async (seed) => {
    const stores = kind === 'fs' ? fileStoreFactory() : s3StoreFactory(() => s3!);
    const { oneByOne, allAtOnce } = await deliverBothWays(plan(server, stores), seed);
    expect(allAtOnce, `seed ${seed}`).toEqual(oneByOne);
    // And right: every submission that can be is admitted once, nothing waits, the counts add up to what exists.
    const submissions = events().flatMap((e) => (e.kind === 'webhook' ? [e.submission] : []));
    const queuedOnes = submissions.filter((s) => s.failure === 'exceeded' || s.failure === 'conflict' || s.failure === 'retried');
    expect(oneByOne.pending, `seed ${seed}`).toEqual([]);
    expect(oneByOne.admittedFacts, `seed ${seed}`).toHaveLength(queuedOnes.length);
    expect(oneByOne.createdByQuotaRetry, `seed ${seed}`).toBe(submissions.filter((s) => s.failure === 'exceeded' || s.failure === 'conflict').length);
    expect(oneByOne.admittedCounted, `seed ${seed}: admitted = drivers quota-retry created`).toBe(oneByOne.createdByQuotaRetry);
    expect(allAtOnce.admittedCounted, `seed ${seed}: admitted = drivers quota-retry created`).toBe(allAtOnce.createdByQuotaRetry);
    expect(oneByOne.pods, `seed ${seed}`).toHaveLength(submissions.length - submissions.filter((s) => s.failure === 'forbidden').length);
    expect(oneByOne.deadLetters, `seed ${seed}`).toEqual(submissions.filter((s) => s.failure === 'forbidden').map((s) => `deadletter/quota-retry/${s.ns.toUpperCase()}/${s.id}.json forbidden`));
  }, 240_000);
});
