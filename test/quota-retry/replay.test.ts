import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { run } from '../../functions/quota-retry/handler.js';
import { signTimed } from '../../shared/http/timed-signature.js';
import { SIGNATURE_HEADER, signBody, webhookAuthProblem } from '../../shared/http/webhook-auth.js';
import { bodyOf, driverPod, FUNCTION_USER, keysUnder, putQuota, startWorld, testSettings, webhookRequest, WEBHOOK_TOKEN, type QuotaRetryWorld } from './support.js';

const NS = 'spark-jobs';
const SECRET = 'quota-retry-hmac-secret-0123456789';
const fixture = (name: string) => JSON.parse(readFileSync(`/work/shared/fixtures/k8s/${name}.json`, 'utf8')) as Record<string, unknown>;

describe('quota-retry webhook: replays', () => {
  let world: QuotaRetryWorld;
  beforeEach(async () => {
    world = await startWorld({ seed: 5 });
  });
  afterEach(async () => {
    await world.stop();
  });

  const settings = () => testSettings({ webhookAuth: { token: WEBHOOK_TOKEN, hmacSecret: SECRET, maxAgeSeconds: 300 } });
  const body = JSON.stringify({ submissionId: 'replayed', namespace: NS, manifest: driverPod('replayed-driver', { cpu: '1', memory: '1Gi' }), error: fixture('409-conflict-resourcequota') });
  const podCreates = () => world.server.countCalls({ user: FUNCTION_USER, verb: 'create', resource: 'pods' });

  it('creates nothing for a signed replay inside the window once its driver was admitted, even after the driver is gone', async () => {
    const { server, clock, deps } = world;
    putQuota(server, NS, { pods: '5', 'requests.cpu': '5' });
    const signature = signTimed(body, SECRET, clock.now());
    expect(bodyOf(await run(webhookRequest(body, { [SIGNATURE_HEADER]: signature }), deps, settings()))).toMatchObject({ outcome: 'admitted', summary: { admitted: 1 } });
    expect(podCreates()).toBe(1);
    // The driver ran and was cleaned up (janitor, or a user).
    server.remove('pods', NS, 'replayed-driver');

    clock.advance(120_000);
    // The same bytes and the same header, captured and sent again.
    const replay = await run(webhookRequest(body, { [SIGNATURE_HEADER]: signature }), deps, settings());
    expect(replay).toMatchObject({ status: 200 });
    expect(bodyOf(replay)).toMatchObject({ outcome: 'already-created', admittedBefore: true, summary: { admitted: 0, queued: 0 } });
    // A drain after the replay has nothing to create either.
    await run({ kind: 'schedule', source: 'local', time: clock.now() }, deps, settings());
    expect(podCreates()).toBe(1);
    expect(server.get('pods', NS, 'replayed-driver')).toBeUndefined();
    expect(await keysUnder(world.store, 'queue/pending/')).toEqual([]);
  });

  it('refuses the same signed body after the window, and a signature whose time was changed', async () => {
    const { server, clock, deps } = world;
    putQuota(server, NS, { pods: '0' });
    const signature = signTimed(body, SECRET, clock.now());
    clock.advance(301_000);
    const late = await run(webhookRequest(body, { [SIGNATURE_HEADER]: signature }), deps, settings());
    expect(late).toMatchObject({ status: 401 });
    expect(bodyOf(late)).toMatchObject({ error: { reason: 'unauthorized' } });
    expect(JSON.stringify(bodyOf(late))).toContain('outside the 300 s window');
    // Moving t into the window breaks the HMAC, which covers it.
    const forged = signature.replace(/^t=(\d+)/, (_, t: string) => `t=${Number(t) + 301}`);
    expect(await run(webhookRequest(body, { [SIGNATURE_HEADER]: forged }), deps, settings())).toMatchObject({ status: 401 });
    expect(await keysUnder(world.store, '')).toEqual([]);
    expect(podCreates()).toBe(0);
  });

  it('protects bearer-token callers with the admitted fact: a re-send after the driver is gone creates nothing', async () => {
    const { server, clock, deps } = world;
    putQuota(server, NS, { pods: '5', 'requests.cpu': '5' });
    expect(bodyOf(await run(webhookRequest(body), deps, settings()))).toMatchObject({ outcome: 'admitted' });
    server.remove('pods', NS, 'replayed-driver');
    clock.advance(24 * 3600_000);
    expect(bodyOf(await run(webhookRequest(body), deps, settings()))).toMatchObject({ outcome: 'already-created', admittedBefore: true });
    expect(podCreates()).toBe(1);
  });

  it('still takes the body-only signature of earlier releases, and the shared check takes the timed one with its window', () => {
    const now = Date.UTC(2025, 4, 14, 3, 0, 0);
    const buffer = Buffer.from(body);
    const options = { hmacSecret: SECRET, maxAgeSeconds: 300, now: () => now };
    expect(webhookAuthProblem({ [SIGNATURE_HEADER]: signBody(buffer, SECRET) }, buffer, options)).toBeUndefined();
    expect(webhookAuthProblem({ [SIGNATURE_HEADER]: signTimed(buffer, SECRET, now - 299_000) }, buffer, options)).toBeUndefined();
    expect(webhookAuthProblem({ [SIGNATURE_HEADER]: signTimed(buffer, SECRET, now - 301_000) }, buffer, options)).toMatch(/outside the 300 s window/);
    expect(webhookAuthProblem({ [SIGNATURE_HEADER]: signTimed(buffer, SECRET, now + 301_000) }, buffer, options)).toMatch(/ahead/);
    expect(webhookAuthProblem({ [SIGNATURE_HEADER]: signTimed(buffer, 'another-secret-0123456789', now) }, buffer, options)).toBe('the body signature is wrong');
  });
});
