import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { run } from '../../functions/quota-retry/handler.js';
import type { QuotaRetrySummary } from '../../functions/quota-retry/summary.js';
import { loadEvent } from '../support/events.js';
import { bodyOf, driverPod, FUNCTION_USER, keysUnder, putQuota, startWorld, statusOf, testSettings, webhookRequest, type QuotaRetryWorld } from './support.js';

const NS = 'spark-jobs';
const drainInput = (time: number) => ({ kind: 'schedule' as const, source: 'local', time });

describe('quota-retry: exactly once against the test apiserver', () => {
  let world: QuotaRetryWorld;
  beforeEach(async () => {
    world = await startWorld({ seed: 3 });
  });
  afterEach(async () => {
    await world.stop();
  });

  async function submit(id: string, manifest: Record<string, unknown>, extra: Record<string, unknown> = {}) {
    try {
      await world.submitter.core.createNamespacedPod({ namespace: NS, body: manifest as never });
      throw new Error('expected the create to fail');
    } catch (err) {
      return run(webhookRequest({ submissionId: id, namespace: NS, manifest, error: statusOf(err), ...extra }), world.deps, testSettings());
    }
  }

  it('finds a driver whose create succeeded with its answer lost, though the full quota answers the retry 403', async () => {
    const { server, submitter, deps } = world;
    putQuota(server, NS, { pods: '1', 'requests.cpu': '2' });
    const manifest = driverPod('lost-answer-driver', { cpu: '1', memory: '1Gi' });
    server.faults.loseAnswers(1, { verb: 'create', resource: 'pods' });
    await expect(submitter.core.createNamespacedPod({ namespace: NS, body: manifest as never })).rejects.toThrow();
    expect(server.get('pods', NS, 'lost-answer-driver')).toBeDefined();
    // The submitter retries: quota admission runs before the name check, so it gets 403, not AlreadyExists.
    const result = await submit('lost-answer', manifest, { attempt: 2 });
    expect(bodyOf(result)).toMatchObject({ outcome: 'queued', errorClass: 'quota-exceeded' });
    const summary = (await run(drainInput(world.clock.now()), deps, testSettings())) as QuotaRetrySummary;
    // The submitter's own create made it: found created, not admitted by quota-retry.
    expect(summary).toMatchObject({ admitted: 0, alreadyCreated: 1, waiting: 0 });
    expect(server.countCalls({ user: FUNCTION_USER, verb: 'create' })).toBe(0);
    expect(server.list('pods', NS)).toHaveLength(1);
    expect(await keysUnder(world.store, 'queue/')).toEqual(['queue/admitted/spark-jobs/lost-answer.json']);
  });

  it('retries a create whose answer was lost by looking the driver up, not by creating it again', async () => {
    const { server, deps } = world;
    putQuota(server, NS, { pods: '0' });
    const manifest = driverPod('flaky-driver', { cpu: '1', memory: '1Gi' });
    const queued = await submit('flaky', manifest);
    expect(bodyOf(queued)).toMatchObject({ outcome: 'queued' });
    putQuota(server, NS, { pods: '5' });
    server.faults.loseAnswers(1, { verb: 'create', resource: 'pods' });
    const summary = (await run(drainInput(world.clock.now()), deps, testSettings())) as QuotaRetrySummary;
    // Its own create made the driver (the lookup finds this run's mark): admitted, not "found created".
    expect(summary).toMatchObject({ admitted: 1, alreadyCreated: 0, existenceChecks: 1, retries: { transient: 1 } });
    expect(server.countCalls({ user: FUNCTION_USER, verb: 'create', resource: 'pods' })).toBe(1);
    expect(server.list('pods', NS).map((p) => p.metadata.name)).toEqual(['flaky-driver']);
  });

  it('lets two drains run at once without creating anything twice', async () => {
    const { server, deps } = world;
    putQuota(server, NS, { pods: '0' });
    for (let i = 0; i < 12; i++) await submit(`twin-${i}`, driverPod(`twin-${i}-driver`, { cpu: '1', memory: '1Gi', department: 'etl' }));
    putQuota(server, NS, { pods: '12', 'requests.cpu': '12' });
    server.faults.quotaConflicts({ probability: 0.3 });
    const [a, b] = (await Promise.all([run(drainInput(world.clock.now()), deps, testSettings()), run(drainInput(world.clock.now()), deps, testSettings())])) as QuotaRetrySummary[];
    expect(server.list('pods', NS)).toHaveLength(12);
    expect(server.calls.filter((c) => c.verb === 'create' && c.resource === 'pods' && c.code === 201)).toHaveLength(12);
    // The apiserver refused the loser of each race by name, and only the winner counts it.
    expect(a!.admitted + b!.admitted).toBe(12);
    expect(await keysUnder(world.store, 'queue/pending/')).toEqual([]);
    expect(await keysUnder(world.store, 'queue/admitted/')).toHaveLength(12);
  });

  it('creates ConfigMaps and Services before the driver pod, then makes the pod their owner', async () => {
    const { server, deps } = world;
    putQuota(server, NS, { pods: '10', 'requests.cpu': '20', 'requests.memory': '64Gi' });
    const list = loadEvent('quota-retry/data/driver-with-dependents') as Record<string, unknown>;
    const error = JSON.parse(JSON.stringify(loadEvent('quota-retry/data/status-conflict-resourcequota')));
    server.faults.quotaConflicts({ next: 2 });
    const result = await run(webhookRequest({ submissionId: 'with-deps', namespace: NS, manifest: list, error }), deps, testSettings());
    expect(bodyOf(result)).toMatchObject({ outcome: 'admitted', summary: { admitted: 1, retries: { 'quota-conflict': 2 } } });
    const creates = server.calls.filter((c) => c.user === FUNCTION_USER && c.verb === 'create' && c.code === 201).map((c) => c.resource);
    expect(creates).toEqual(['configmaps', 'services', 'pods']);
    const pod = server.get('pods', NS, 'etl-orders-daily-7d3f9a2b1c8e4f60-driver')!;
    for (const [resource, name] of [
      ['configmaps', 'spark-drv-7d3f9a2b1c8e4f60-conf-map'],
      ['services', 'etl-orders-daily-7d3f9a2b1c8e4f60-driver-svc'],
    ] as const) {
      expect(server.get(resource, NS, name)!.metadata.ownerReferences).toEqual([{ apiVersion: 'v1', kind: 'Pod', name: pod.metadata.name, uid: pod.metadata.uid, controller: true }]);
    }
  });

  it('dead-letters a driver whose name another object holds, instead of calling it created', async () => {
    const { server, submitter, deps } = world;
    putQuota(server, NS, { pods: '0' });
    await submitter.core.createNamespacedPod({ namespace: NS, body: driverPod('x', { cpu: '1', memory: '1Gi' }) as never }).catch(() => undefined);
    const queued = await submit('clash', driverPod('clash-driver', { cpu: '1', memory: '1Gi' }));
    expect(bodyOf(queued)).toMatchObject({ outcome: 'queued' });
    // Someone else's pod (another image) takes the name while the submission waits.
    server.put({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'clash-driver', namespace: NS }, spec: { containers: [{ name: 'other', image: 'nginx' }] } });
    putQuota(server, NS, { pods: '5' });
    const summary = (await run(drainInput(world.clock.now()), deps, testSettings())) as QuotaRetrySummary;
    expect(summary).toMatchObject({ admitted: 0, deadLettered: 1 });
    expect(await keysUnder(world.store, 'deadletter/')).toEqual(['deadletter/quota-retry/spark-jobs/clash.json']);
    expect(await keysUnder(world.store, 'queue/')).toEqual([]);
  });

  it('dead-letters an entry past its deadline and one the apiserver refuses as invalid', async () => {
    const { server, deps, clock } = world;
    putQuota(server, NS, { pods: '0', 'requests.cpu': '10' });
    await submit('late', driverPod('late-driver', { cpu: '1', memory: '1Gi' }), { deadline: new Date(clock.now() + 60_000).toISOString() });
    const noRequests = driverPod('bare-driver', { cpu: '1', memory: '1Gi' }) as { spec: { containers: { resources?: unknown }[] } };
    delete noRequests.spec.containers[0]!.resources;
    // The submitter's quota was full; once it frees, the pod without requests fails quota's "must specify" for good.
    server.put({ apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'spark-quota', namespace: NS }, spec: { hard: { pods: '0' } } });
    await submit('bare', noRequests as never);
    clock.advance(120_000);
    putQuota(server, NS, { pods: '5', 'requests.cpu': '10' });
    const summary = (await run(drainInput(clock.now()), deps, testSettings())) as QuotaRetrySummary;
    expect(summary).toMatchObject({ expired: 1, deadLettered: 2, admitted: 0 });
    expect((await keysUnder(world.store, 'deadletter/')).sort()).toEqual(['deadletter/quota-retry/spark-jobs/bare.json', 'deadletter/quota-retry/spark-jobs/late.json']);
    expect(await keysUnder(world.store, 'queue/')).toEqual([]);
  });

  it('queues what is left when the invocation deadline comes during backoff', async () => {
    const { server, deps } = world;
    putQuota(server, NS, { pods: '5' });
    server.faults.quotaConflicts({ next: 100 });
    const deadline = new AbortController();
    const result = await run(
      webhookRequest({ submissionId: 'deadline', namespace: NS, manifest: driverPod('deadline-driver', { cpu: '1', memory: '1Gi' }), error: loadEvent('quota-retry/data/status-conflict-resourcequota') }),
      {
        ...deps,
        signal: deadline.signal,
        sleep: async () => {
          deadline.abort();
          return false;
        },
      },
      testSettings(),
    );
    expect(bodyOf(result)).toMatchObject({ outcome: 'queued' });
    expect(await keysUnder(world.store, 'queue/')).toEqual(['queue/pending/spark-jobs/deadline/1747191600000.json', 'queue/pending/spark-jobs/deadline/last-error.json']);
    expect(server.list('pods', NS)).toHaveLength(0);
  });

  it('in dry-run logs what it would create and creates nothing', async () => {
    const { server, deps } = world;
    putQuota(server, NS, { pods: '0' });
    await submit('dry', driverPod('dry-driver', { cpu: '1', memory: '1Gi' }));
    putQuota(server, NS, { pods: '5' });
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) }));
    const summary = (await run(drainInput(world.clock.now()), { ...deps, logger }, testSettings({ dryRun: true }))) as QuotaRetrySummary;
    expect(summary).toMatchObject({ admitted: 1, dryRun: true });
    expect(lines.some((l) => l.includes('dry-run: would create pod spark-jobs/dry-driver'))).toBe(true);
    expect(server.countCalls({ user: FUNCTION_USER, verb: 'create' })).toBe(0);
    expect(await keysUnder(world.store, 'queue/')).toEqual(['queue/pending/spark-jobs/dry/1747191600000.json']);
  });
});
