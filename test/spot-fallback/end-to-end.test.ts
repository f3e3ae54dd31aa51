import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readSpotState } from '../../functions/spot-fallback/load-facts.js';
import { silentLogger } from '../../shared/logger.js';
import { kubeSpotCluster } from '../../functions/spot-fallback/cluster.js';
import type { SpotCounters } from '../../functions/spot-fallback/signals.js';
import { breakerState } from '../../functions/spot-fallback/spot-breaker.js';
import { ManualClock } from '../../shared/clock.js';
import { normalizeTrigger } from '../../shared/platform/normalize.js';
import { startTestApiserver, type TestApiserver } from '../support/apiserver/index.js';
import { loadEvent } from '../support/events.js';
import { baseDeps, NS, patched, postAdmission, review, startTlsServe, tempStore, testSettings, type TlsServe } from './harness.js';

describe('spot-fallback end to end: test apiserver, events, webhook over HTTPS', () => {
  let apiserver: TestApiserver;
  let temp: Awaited<ReturnType<typeof tempStore>>;
  let server: TlsServe;
  let clock: ManualClock;
  let core: CoreV1Api;
  const settings = testSettings();

  beforeEach(async () => {
    clock = new ManualClock(Date.UTC(2025, 4, 14, 2, 20));
    apiserver = await startTestApiserver({ clock });
    core = apiserver.kubeConfig().makeApiClient(CoreV1Api);
    temp = await tempStore();
    server = await startTlsServe(baseDeps(temp.store, clock), settings, await kubeSpotCluster(apiserver.kubeConfig()));
  });
  afterEach(async () => {
    await server.close();
    await apiserver.stop();
    await temp.dispose();
  });

  /** Spark's driver asking for an executor: the AdmissionReview through the webhook, then the create with the patch applied. */
  async function createExecutor(name: string): Promise<V1Pod> {
    const body = review('executor', name);
    const answer = await postAdmission(server.serve.url, server.ca, body);
    expect(answer.review.response).toMatchObject({ uid: body.request.uid, allowed: true });
    const pod = patched(body.request.object, answer.patch) as unknown as V1Pod;
    return core.createNamespacedPod({ namespace: NS, body: pod });
  }

  it('a stock-out opens the breaker and recycles the stuck pod; the replacement goes on-demand; after the TTL a probe goes spot and closes it', async () => {
    const stuck = await createExecutor('etl-orders-daily-7d3f9a2b1c8e4f60-exec-3');
    expect(stuck.metadata?.labels?.['sparkfn.io/capacity']).toBe('spot');
    expect(stuck.status?.phase).toBe('Pending');

    clock.advance(2 * 60_000);
    const event = loadEvent('spot-fallback/no-stock') as { involvedObject: { uid: string } };
    event.involvedObject.uid = stuck.metadata!.uid!;
    const summary = (await server.spot.run(normalizeTrigger(event), baseDeps(temp.store, clock))) as SpotCounters;
    expect(summary).toMatchObject({ signals: 1, breakersOpened: 4, recycled: 1, failed: 0 });
    expect(apiserver.get('pods', NS, 'etl-orders-daily-7d3f9a2b1c8e4f60-exec-3')).toBeUndefined();
    expect(breakerState((await readSpotState(temp.store, silentLogger, settings)).breakers.get('cn-hangzhou-h/ecs.c6.xlarge')!.capacity.spot!, clock.now())).toBe('open');

    const replacement = await createExecutor('etl-orders-daily-7d3f9a2b1c8e4f60-exec-4');
    expect(replacement.metadata?.annotations).not.toHaveProperty('k8s.aliyun.com/eci-spot-strategy');
    expect(replacement.metadata?.labels?.['sparkfn.io/capacity']).toBe('on-demand-fallback');

    clock.advance(settings.openTtlMs);
    const probe = await createExecutor('etl-orders-daily-7d3f9a2b1c8e4f60-exec-5');
    expect(probe.metadata?.annotations?.['k8s.aliyun.com/eci-spot-strategy']).toBe('SpotAsPriceGo');
    expect(probe.metadata?.annotations?.['sparkfn.io/spot-probe']).toContain('cn-hangzhou-h/ecs.c6.xlarge');
    expect(probe.metadata?.labels?.['sparkfn.io/capacity']).toBe('spot');

    const running = apiserver.setPodPhase(NS, probe.metadata!.name!, 'Running');
    const closed = (await server.spot.run({ kind: 'k8s-objects', source: 'test', changes: [{ type: 'MODIFIED', object: running as never }] }, baseDeps(temp.store, clock))) as SpotCounters;
    expect(closed.breakersClosed).toBe(4);

    const after = await createExecutor('etl-orders-daily-7d3f9a2b1c8e4f60-exec-6');
    expect(after.metadata?.annotations?.['k8s.aliyun.com/eci-spot-fallback']).toBe('true');
    expect(after.metadata?.annotations).not.toHaveProperty('sparkfn.io/spot-fallback-reason');
    expect(after.metadata?.labels?.['sparkfn.io/capacity']).toBe('spot');
  });
});
