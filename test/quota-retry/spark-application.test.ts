import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { run } from '../../functions/quota-retry/handler.js';
import { RESUBMIT_ANNOTATION } from '../../functions/quota-retry/spark-application.js';
import type { QuotaRetrySummary } from '../../functions/quota-retry/summary.js';
import { normalizeTrigger } from '../../shared/platform/normalize.js';
import { loadEvent } from '../support/events.js';
import { driverPod, FUNCTION_USER, keysUnder, putQuota, startWorld, testSettings, webhookRequest, type QuotaRetryWorld } from './support.js';

const NS = 'spark-jobs';
const APP = 'etl-orders-daily';

describe('quota-retry: a SparkApplication stuck in SUBMISSION_FAILED on quota', () => {
  let world: QuotaRetryWorld;
  beforeEach(async () => {
    world = await startWorld({ seed: 5 });
  });
  afterEach(async () => {
    await world.stop();
  });

  /** The sample app, created through the API and moved to SUBMISSION_FAILED as spark-operator would. */
  async function failedApp(): Promise<Record<string, unknown>> {
    const sample = loadEvent('quota-retry/data/sparkapplication-submission-failed') as { metadata: Record<string, unknown>; status: Record<string, unknown> };
    const { status } = sample;
    for (const field of ['uid', 'resourceVersion', 'generation']) delete sample.metadata[field];
    delete (sample as Record<string, unknown>).status;
    await world.submitter.custom.createNamespacedCustomObject({ group: 'sparkoperator.k8s.io', version: 'v1beta2', namespace: NS, plural: 'sparkapplications', body: sample });
    return world.server.updateStatus('sparkapplications', NS, APP, status) as never;
  }

  const objectsInput = (object: unknown) => ({ kind: 'k8s-objects' as const, source: 'k8s:watch', changes: [{ type: 'MODIFIED' as const, object: object as never }] });
  const drain = () => run({ kind: 'schedule', source: 'local', time: world.clock.now() }, world.deps, testSettings()) as Promise<QuotaRetrySummary>;

  it('is queued from the watch and the event alike, and re-submitted exactly once when room frees', async () => {
    const { server, submitter } = world;
    putQuota(server, NS, { pods: '1', 'requests.cpu': '4' });
    await submitter.core.createNamespacedPod({ namespace: NS, body: driverPod('running-driver', { cpu: '1', memory: '1Gi' }) as never });
    const app = await failedApp();
    const generation = (app.metadata as { generation: number }).generation;

    const fromWatch = (await run(objectsInput(app), world.deps, testSettings())) as QuotaRetrySummary;
    expect(fromWatch).toMatchObject({ received: 1, queued: 1 });
    const fromEvent = (await run(normalizeTrigger(loadEvent('quota-retry/submission-failed-event')), world.deps, testSettings())) as QuotaRetrySummary;
    expect(fromEvent).toMatchObject({ received: 1, queued: 1 });
    expect(await keysUnder(world.store, 'queue/')).toHaveLength(1);

    expect(await drain()).toMatchObject({ admitted: 0, waiting: 1 });
    expect(server.countCalls({ user: FUNCTION_USER, verb: 'patch' })).toBe(0);

    server.setPodPhase(NS, 'running-driver', 'Succeeded');
    const [a, b] = await Promise.all([drain(), drain()]);
    // The patch carries the resourceVersion read: one drain wins, the other finds it done.
    expect(a!.admitted + b!.admitted).toBe(1);
    const after = server.get('sparkapplications', NS, APP)!;
    expect(after.metadata.generation).toBe(generation + 1);
    expect((after.spec as { driver: { annotations: Record<string, string> } }).driver.annotations[RESUBMIT_ANNOTATION]).toMatch(/^[0-9a-f]{12}$/);
    expect(await keysUnder(world.store, 'queue/pending/')).toEqual([]);
    expect(await keysUnder(world.store, 'queue/admitted/')).toHaveLength(1);

    // The watch delivers the app again (our patch changed it; the operator has not moved it yet): nothing more happens.
    expect(await run(objectsInput(after), world.deps, testSettings())).toMatchObject({ queued: 0 });
    await drain();
    expect(server.get('sparkapplications', NS, APP)!.metadata.generation).toBe(generation + 1);
  });

  it('passes over a SUBMISSION_FAILED app that failed for another reason', async () => {
    const app = await failedApp();
    (app.status as { applicationState: { errorMessage: string } }).applicationState.errorMessage = 'failed to run spark-submit: main class not found';
    expect(await run(objectsInput(app), world.deps, testSettings())).toMatchObject({ received: 0, queued: 0 });
  });

  it('drains a namespace when its ResourceQuota changes', async () => {
    const { server, deps } = world;
    putQuota(server, NS, { pods: '0' });
    const manifest = driverPod('waiting-driver', { cpu: '1', memory: '1Gi' });
    const error = loadEvent('quota-retry/data/status-exceeded-quota');
    await run(webhookRequest({ submissionId: 'waiting', namespace: NS, manifest, error }), deps, testSettings());
    putQuota(server, NS, { pods: '2' });
    const change = normalizeTrigger(loadEvent('quota-retry/resourcequota-watch-modified'));
    expect(await run(change, deps, testSettings())).toMatchObject({ trigger: 'drain', namespaces: 1, admitted: 1, quotaReads: 1 });
    expect(server.get('pods', NS, 'waiting-driver')).toBeDefined();
  });
});
