import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { S3ObjectStore } from '../../shared/store/s3-store.js';
import { CoreV1Api } from '@kubernetes/client-node';
import { kubeSpotCluster } from '../../functions/spot-fallback/cluster.js';
import { PROBE_CLAIMS_PREFIX, putSignal } from '../../functions/spot-fallback/facts.js';
import { PROBE_CONFIRM_MS } from '../../functions/spot-fallback/probe-claims.js';
import { listAll } from '../../shared/store/read.js';
import { startTestApiserver, type TestApiserver } from '../support/apiserver/index.js';
import type { ObjectStore } from '../../shared/store/object-store.js';
import { startS3rver, type S3rverHarness } from '../support/s3rver.js';
import { baseDeps, NS, patched, postAdmission, review, startTlsServe, tempStore, testSettings, VSW_H, VSW_I, type TlsServe } from './harness.js';

const SPECS = ['ecs.c6.xlarge', 'ecs.g6.xlarge'];
const settings = testSettings();

async function openZone(store: ObjectStore, zone: string, now: number): Promise<void> {
  await putSignal(store, { kind: 'stock-out', reason: 'NoStock', pod: `uid-${zone}`, at: now, capacity: 'spot', breakers: SPECS.map((spec) => `${zone}/${spec}`) });
}

describe('spot-fallback admission over HTTPS through sparkfn serve', () => {
  let temp: Awaited<ReturnType<typeof tempStore>>;
  let deps: ReturnType<typeof baseDeps>;
  let server: TlsServe;

  beforeEach(async () => {
    temp = await tempStore();
    deps = baseDeps(temp.store);
    server = await startTlsServe(deps, settings);
  });
  afterEach(async () => {
    await server.close();
    await temp.dispose();
  });

  it('with every breaker closed, adds only the fallback annotation and the spot label', async () => {
    const body = review();
    const answer = await postAdmission(server.serve.url, server.ca, body);
    expect(server.serve.url).toMatch(/^https:/);
    expect(answer.status).toBe(200);
    expect(answer.review).toMatchObject({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: body.request.uid, allowed: true, patchType: 'JSONPatch' } });
    const pod = patched(body.request.object, answer.patch);
    expect(pod.metadata.annotations['k8s.aliyun.com/eci-spot-fallback']).toBe('true');
    expect(pod.metadata.labels['sparkfn.io/capacity']).toBe('spot');
    const { ['k8s.aliyun.com/eci-spot-fallback']: _a, ...annotations } = pod.metadata.annotations;
    const { ['sparkfn.io/capacity']: _l, ...labels } = pod.metadata.labels;
    expect(annotations).toEqual(body.request.object.metadata.annotations);
    expect(labels).toEqual(body.request.object.metadata.labels);
  });

  it('with every zone open, patches the pod to on-demand', async () => {
    await openZone(temp.store, 'cn-hangzhou-h', deps.clock.now());
    await openZone(temp.store, 'cn-hangzhou-i', deps.clock.now());
    const body = review();
    const answer = await postAdmission(server.serve.url, server.ca, body);
    const pod = patched(body.request.object, answer.patch);
    expect(pod.metadata.annotations).not.toHaveProperty('k8s.aliyun.com/eci-spot-strategy');
    expect(pod.metadata.annotations).not.toHaveProperty('k8s.aliyun.com/eci-spot-price-limit');
    expect(pod.metadata.annotations).not.toHaveProperty('k8s.aliyun.com/eci-spot-fallback');
    expect(pod.metadata.labels['sparkfn.io/capacity']).toBe('on-demand-fallback');
    expect(pod.metadata.annotations['sparkfn.io/spot-fallback-reason']).toMatch(/cn-hangzhou-h, cn-hangzhou-i/);
    expect(answer.review.response.uid).toBe(body.request.uid);
  });

  it('with some zones open, puts the healthy vSwitches first, VSwitchOrdered', async () => {
    await openZone(temp.store, 'cn-hangzhou-h', deps.clock.now());
    const body = review();
    expect(body.request.object.metadata.annotations['k8s.aliyun.com/eci-vswitch']).toBe(`${VSW_H},${VSW_I}`);
    const pod = patched(body.request.object, (await postAdmission(server.serve.url, server.ca, body)).patch);
    expect(pod.metadata.annotations['k8s.aliyun.com/eci-vswitch']).toBe(`${VSW_I},${VSW_H}`);
    expect(pod.metadata.annotations['k8s.aliyun.com/eci-schedule-strategy']).toBe('VSwitchOrdered');
    expect(pod.metadata.annotations['k8s.aliyun.com/eci-spot-strategy']).toBe('SpotAsPriceGo');
    expect(pod.metadata.annotations['k8s.aliyun.com/eci-spot-fallback']).toBe('true');
    expect(pod.metadata.labels['sparkfn.io/capacity']).toBe('spot');
  });

  it('after the TTL lets one spot pod through as the half-open probe, and the next goes on-demand', async () => {
    await openZone(temp.store, 'cn-hangzhou-h', deps.clock.now());
    await openZone(temp.store, 'cn-hangzhou-i', deps.clock.now());
    const before = patched(review().request.object, (await postAdmission(server.serve.url, server.ca, review('executor', 'exec-a'))).patch);
    expect(before.metadata.labels['sparkfn.io/capacity']).toBe('on-demand-fallback');

    deps.clock.advance(settings.openTtlMs);
    const probeBody = review('executor', 'exec-b');
    const probe = patched(probeBody.request.object, (await postAdmission(server.serve.url, server.ca, probeBody)).patch);
    expect(probe.metadata.annotations['k8s.aliyun.com/eci-spot-strategy']).toBe('SpotAsPriceGo');
    expect(probe.metadata.annotations).not.toHaveProperty('k8s.aliyun.com/eci-spot-fallback');
    expect(probe.metadata.annotations['sparkfn.io/spot-probe']!.split(',').sort()).toEqual(
      ['cn-hangzhou-h', 'cn-hangzhou-i'].flatMap((z) => SPECS.map((s) => `${z}/${s}`)).sort(),
    );
    expect(probe.metadata.labels['sparkfn.io/capacity']).toBe('spot');

    const nextBody = review('executor', 'exec-c');
    const next = patched(nextBody.request.object, (await postAdmission(server.serve.url, server.ca, nextBody)).patch);
    expect(next.metadata.labels['sparkfn.io/capacity']).toBe('on-demand-fallback');
  });

  it('leaves a driver pod untouched', async () => {
    await openZone(temp.store, 'cn-hangzhou-h', deps.clock.now());
    await openZone(temp.store, 'cn-hangzhou-i', deps.clock.now());
    const body = review('driver');
    const answer = await postAdmission(server.serve.url, server.ca, body);
    expect(answer.review.response).toEqual({ uid: body.request.uid, allowed: true });
    expect(answer.patch).toEqual([]);
  });

  it('answers 400 to a body that is not an AdmissionReview, naming the problem', async () => {
    const raw = await postAdmission(server.serve.url, server.ca, { apiVersion: 'admission.k8s.io/v1beta1', kind: 'AdmissionReview', request: { uid: 'x' } });
    expect(raw.status).toBe(400);
    expect(JSON.stringify(raw.review)).toMatch(/admission\.k8s\.io\/v1/);
  });
});

describe('spot-fallback admission with the store down', () => {
  let s3: S3rverHarness;
  let server: TlsServe;
  const timeoutMs = 300;

  beforeAll(async () => {
    s3 = await startS3rver();
  });
  afterAll(async () => {
    await server?.close();
  });

  it('answers allowed with no patch, within the timeout', async () => {
    const bucket = await s3.createBucket();
    const store = new S3ObjectStore({ bucket, endpoint: s3.endpoint, forcePathStyle: true, credentials: s3.credentials });
    const deps = baseDeps(store);
    server = await startTlsServe(deps, testSettings({ admissionTimeoutMs: timeoutMs }));
    await s3.stop();
    const body = review();
    const started = performance.now();
    const answer = await postAdmission(server.serve.url, server.ca, body);
    const elapsed = performance.now() - started;
    expect(answer.review.response).toEqual({ uid: body.request.uid, allowed: true });
    expect(answer.patch).toEqual([]);
    // The SDK's own retries against a dead endpoint take longer than this; the webhook must not wait for them.
    expect(elapsed).toBeLessThan(timeoutMs + 1000);
    expect(await deps.metrics.text()).toMatch(/sparkfn_spot_admission_fail_open_total\{reason="(timeout|error)"\} 1/);
  });
});

describe('spot-fallback admission: who may take a probe (issue #14)', () => {
  let apiserver: TestApiserver;
  let temp: Awaited<ReturnType<typeof tempStore>>;
  let deps: ReturnType<typeof baseDeps>;
  let server: TlsServe;

  beforeEach(async () => {
    apiserver = await startTestApiserver();
    temp = await tempStore();
    deps = baseDeps(temp.store);
  });
  afterEach(async () => {
    await server?.close();
    await apiserver.stop();
    await temp.dispose();
  });

  async function halfOpen(): Promise<void> {
    await openZone(temp.store, 'cn-hangzhou-h', deps.clock.now());
    await openZone(temp.store, 'cn-hangzhou-i', deps.clock.now());
    deps.clock.advance(settings.openTtlMs);
  }
  const capacity = async (name: string, headers: Record<string, string> = {}) => {
    const body = review('executor', name);
    const answer = await postAdmission(server.serve.url, server.ca, body, undefined, headers);
    return { answer, pod: answer.status === 200 ? patched(body.request.object, answer.patch) : undefined };
  };

  it('releases a probe claimed by a review whose pod never appears, once the cluster shows it is not there', async () => {
    server = await startTlsServe(deps, settings, await kubeSpotCluster(apiserver.kubeConfig()));
    await halfOpen();
    const ghost = await capacity('made-up-exec');
    expect(ghost.pod!.metadata.annotations['sparkfn.io/spot-probe']).toBeDefined();
    // The real executor right after: the probe is taken.
    expect((await capacity('real-exec-1')).pod!.metadata.labels['sparkfn.io/capacity']).toBe('on-demand-fallback');
    expect(apiserver.countCalls({ verb: 'get', resource: 'pods' })).toBe(0);

    deps.clock.advance(PROBE_CONFIRM_MS);
    const real = await capacity('real-exec-2');
    expect(real.pod!.metadata.annotations['sparkfn.io/spot-probe']).toBeDefined();
    expect(real.pod!.metadata.labels['sparkfn.io/capacity']).toBe('spot');
    const released = (await listAllKeys(temp.store, PROBE_CLAIMS_PREFIX)).filter((k) => k.endsWith('.released.json'));
    expect(released).toHaveLength(4);
  });

  it('keeps a probe whose pod exists', async () => {
    server = await startTlsServe(deps, settings, await kubeSpotCluster(apiserver.kubeConfig()));
    await halfOpen();
    const probe = await capacity('probe-exec');
    expect(probe.pod!.metadata.annotations['sparkfn.io/spot-probe']).toBeDefined();
    await apiserver.kubeConfig().makeApiClient(CoreV1Api).createNamespacedPod({ namespace: NS, body: probe.pod as never });
    deps.clock.advance(PROBE_CONFIRM_MS);
    expect((await capacity('real-exec')).pod!.metadata.labels['sparkfn.io/capacity']).toBe('on-demand-fallback');
    expect((await capacity('real-exec-b')).pod!.metadata.labels['sparkfn.io/capacity']).toBe('on-demand-fallback');
    // Looked up once, then remembered.
    expect(apiserver.countCalls({ verb: 'get', resource: 'pods' })).toBe(1);
  });

  it('releases the probe of a probe pod deleted before it ran, so the next executor probes', async () => {
    server = await startTlsServe(deps, settings, await kubeSpotCluster(apiserver.kubeConfig()));
    await halfOpen();
    const probe = await capacity('probe-exec');
    expect(probe.pod!.metadata.annotations['sparkfn.io/spot-probe']).toBeDefined();
    expect((await capacity('real-exec-1')).pod!.metadata.labels['sparkfn.io/capacity']).toBe('on-demand-fallback');
    const deleted = { ...probe.pod!, kind: 'Pod', apiVersion: 'v1', status: { phase: 'Pending' } };
    const summary = (await server.spot.run({ kind: 'k8s-objects', source: 'test', changes: [{ type: 'DELETED', object: deleted as never }] }, deps)) as { skipped: number; failed: number };
    expect(summary).toMatchObject({ skipped: 0, failed: 0 });
    expect((await capacity('real-exec-2')).pod!.metadata.annotations['sparkfn.io/spot-probe']).toBeDefined();
  });

  it('with SPARKFN_ADMISSION_TOKEN takes only reviews that carry it: a made-up one changes nothing', async () => {
    const token = 'admission-token-0123456789';
    server = await startTlsServe(deps, { ...settings, admissionToken: token });
    await halfOpen();
    const forged = await capacity('made-up-exec');
    expect(forged.answer.status).toBe(401);
    const wrong = await capacity('made-up-exec', { authorization: 'Bearer not-the-token-at-all' });
    expect(wrong.answer.status).toBe(401);
    expect(await listAllKeys(temp.store, PROBE_CLAIMS_PREFIX)).toEqual([]);
    const real = await capacity('real-exec', { authorization: `Bearer ${token}` });
    expect(real.answer.status).toBe(200);
    expect(real.pod!.metadata.annotations['sparkfn.io/spot-probe']).toBeDefined();
  });
});

async function listAllKeys(store: ObjectStore, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of listAll(store, prefix)) keys.push(o.key);
  return keys;
}
