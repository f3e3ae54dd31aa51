import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { run } from '../../functions/quota-retry/handler.js';
import type { QuotaRetryDeps } from '../../functions/quota-retry/quota-retry-deps.js';
import { readQueue, type QueueEntry } from '../../functions/quota-retry/queue.js';
import { ManualClock } from '../../shared/clock.js';
import { signBody } from '../../shared/http/webhook-auth.js';
import { silentLogger } from '../../shared/logger.js';
import { Metrics } from '../../shared/metrics.js';
import { FileObjectStore } from '../../shared/store/fs-store.js';
import { getBuffer } from '../../shared/store/read.js';
import { loadEvent } from '../support/events.js';
import { bodyOf, driverPod, keysUnder, testSettings, webhookRequest } from './support.js';

const exceeded = () => loadEvent('quota-retry/data/status-exceeded-quota') as Record<string, unknown>;
/** A real kube-apiserver Status body from the shared fixtures. */
const fixture = (name: string) => JSON.parse(readFileSync(`/work/shared/fixtures/k8s/${name}.json`, 'utf8')) as Record<string, unknown>;

function validBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    submissionId: 'etl-orders-daily-20250514-0300',
    namespace: 'spark-jobs',
    manifest: loadEvent('quota-retry/data/driver-pod'),
    error: exceeded(),
    department: 'etl',
    ...overrides,
  };
}

describe('quota-retry webhook: input', () => {
  let dir: string;
  let store: FileObjectStore;
  let deps: QuotaRetryDeps;
  const clock = new ManualClock(Date.UTC(2025, 4, 14, 3, 0, 0));

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'quota-retry-webhook-'));
    store = new FileObjectStore(dir);
    // No cluster: the webhook still validates, classifies and queues.
    deps = { store, clock, logger: silentLogger, metrics: new Metrics() };
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('answers 401 to an unsigned request and queues nothing', async () => {
    const result = await run(webhookRequest(validBody(), {}), deps, testSettings());
    expect(result).toMatchObject({ status: 401 });
    expect(bodyOf(result)).toMatchObject({ error: { reason: 'unauthorized' } });
    expect(await keysUnder(store, '')).toEqual([]);
  });

  it('answers 401 to a wrong HMAC signature and accepts the right one', async () => {
    const settings = testSettings({ webhookAuth: { hmacSecret: 'a-long-enough-hmac-secret' } });
    const raw = JSON.stringify(validBody());
    const forged = await run(webhookRequest(raw, { 'x-sparkfn-signature': signBody(raw, 'another-secret-of-length') }), deps, settings);
    expect(forged).toMatchObject({ status: 401 });
    const signed = await run(webhookRequest(raw, { 'x-sparkfn-signature': signBody(raw, 'a-long-enough-hmac-secret') }), deps, settings);
    expect(signed).toMatchObject({ status: 202 });
  });

  it('answers 405 to a GET', async () => {
    const result = await run({ ...webhookRequest(validBody()), method: 'GET' }, deps, testSettings());
    expect(result).toMatchObject({ status: 405, headers: { allow: 'POST' } });
  });

  it.each([
    ['a manifest that is a Deployment', validBody({ manifest: { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x' }, spec: {} } }), 'unsupported-manifest', /Deployment.*Pod.*SparkApplication/],
    ['a List without a Pod', validBody({ manifest: { apiVersion: 'v1', kind: 'List', items: [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } }] } }), 'unsupported-manifest', /exactly one driver Pod/],
    ['a missing namespace', (() => { const b = validBody(); delete b.namespace; return b; })(), 'missing-namespace', /namespace must name/],
    ['an error that is a string', validBody({ error: 'exceeded quota' }), 'error-not-a-status', /error must be the metav1.Status/],
    ['an error that is not a Status object', validBody({ error: { message: 'exceeded quota', code: 403 } }), 'error-not-a-status', /kind: Status/],
    ['a pod in another namespace', validBody({ manifest: driverPod('x-driver', { cpu: '1', memory: '1Gi', namespace: 'default' }) }), 'namespace-mismatch', /namespace "default"/],
    ['a pod whose cpu is not a quantity', validBody({ manifest: driverPod('x-driver', { cpu: 'two', memory: '1Gi' }) }), 'invalid-quantity', /"two" is not a Kubernetes quantity/],
    ['a submission id with a slash', validBody({ submissionId: '../etc' }), 'invalid-submission-id', /submissionId must be/],
    ['a body that is an array', [validBody()], 'invalid-body', /JSON object/],
  ])('answers 400 with the reason to %s, and queues nothing', async (_name, body, reason, message) => {
    const result = await run(webhookRequest(body), deps, testSettings());
    expect(result).toMatchObject({ status: 400 });
    const error = bodyOf(result).error as { reason: string; message: string };
    expect(error.reason).toBe(reason);
    expect(error.message).toMatch(message);
    expect(await keysUnder(store, '')).toEqual([]);
  });

  it('answers 400 to malformed JSON', async () => {
    const result = await run(webhookRequest('{"submissionId": '), deps, testSettings());
    expect(result).toMatchObject({ status: 400 });
    expect(bodyOf(result)).toMatchObject({ error: { reason: 'invalid-json' } });
  });

  it('queues a 403 exceeded quota with its resources, priority, department and a 6 h deadline; a re-send keeps its place', async () => {
    const first = await run(webhookRequest(validBody({ priority: 5 })), deps, testSettings());
    expect(first).toMatchObject({ status: 202 });
    expect(bodyOf(first)).toMatchObject({ outcome: 'queued', errorClass: 'quota-exceeded' });
    const key = `queue/pending/spark-jobs/etl-orders-daily-20250514-0300/${clock.now()}.json`;
    const entry = JSON.parse((await getBuffer(store, key)).toString('utf8')) as QueueEntry;
    expect(entry).toMatchObject({ priority: 5, department: 'etl', action: 'create', enqueuedAt: clock.now(), deadline: clock.now() + 6 * 3600_000 });
    expect(entry.resources).toMatchObject({ pods: '1', 'requests.cpu': '2', 'limits.cpu': '2', 'requests.memory': String(4505 * 1024 * 1024) });
    expect(entry.objects[0]!.metadata).toMatchObject({ labels: { 'sparkfn.io/department': 'etl' }, annotations: { 'sparkfn.io/submission-id': 'etl-orders-daily-20250514-0300' } });
    clock.advance(60_000);
    await run(webhookRequest(validBody({ priority: 5 })), deps, testSettings());
    // The re-send is a fact of its own; read back, the submission keeps its first place.
    expect(await keysUnder(store, 'queue/')).toEqual([key, key.replace(/\d+\.json$/, `${clock.now()}.json`)]);
    const { entries } = await readQueue(store, 'spark-jobs');
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ enqueuedAt: entry.enqueuedAt, arrivals: 2 });
  });

  it('derives a name from the submission when the pod only has generateName', async () => {
    const manifest = driverPod('unused', { cpu: '1', memory: '1Gi' }) as { metadata: Record<string, unknown> };
    delete manifest.metadata.name;
    manifest.metadata.generateName = 'etl-driver-';
    await run(webhookRequest(validBody({ manifest })), deps, testSettings());
    await run(webhookRequest(validBody({ manifest })), deps, testSettings());
    const [entry] = (await readQueue(store, 'spark-jobs')).entries;
    expect(entry!.objects[0]!.metadata!.name).toMatch(/^etl-driver-[0-9a-f]{10}$/);
  });

  it('takes AlreadyExists as created: nothing is queued', async () => {
    const result = await run(webhookRequest(validBody({ error: fixture('409-already-exists') })), deps, testSettings());
    expect(result).toMatchObject({ status: 200 });
    expect(bodyOf(result)).toMatchObject({ outcome: 'already-created' });
    expect(await keysUnder(store, '')).toEqual([]);
  });
});

describe('quota-retry webhook: permanent failures', () => {
  let dir: string;
  let receiver: Server;
  let url: string;
  const received: { body: Record<string, unknown>; contentType: string | undefined }[] = [];

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>, contentType: req.headers['content-type'] });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"errcode":0,"errmsg":"ok"}');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/robot/send?access_token=test`;
    dir = await mkdtemp(join(tmpdir(), 'quota-retry-permanent-'));
  });
  afterAll(async () => {
    await new Promise((resolve) => receiver.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  it('dead-letters an RBAC-forbidden create and posts one DingTalk- and Slack-readable alert', async () => {
    const store = new FileObjectStore(dir);
    const deps: QuotaRetryDeps = { store, clock: new ManualClock(), logger: silentLogger, metrics: new Metrics() };
    const result = await run(webhookRequest(validBody({ error: fixture('403-rbac-forbidden') })), deps, testSettings({ alertUrl: url }));
    expect(result).toMatchObject({ status: 200 });
    expect(bodyOf(result)).toMatchObject({ outcome: 'dead-lettered', reason: 'forbidden', summary: { deadLettered: 1, alertsSent: 1 } });
    const letter = JSON.parse((await getBuffer(store, 'deadletter/quota-retry/spark-jobs/etl-orders-daily-20250514-0300.json')).toString('utf8'));
    expect(letter).toMatchObject({ reason: 'forbidden', department: 'etl', submission: { submissionId: 'etl-orders-daily-20250514-0300' } });
    expect(await keysUnder(store, 'queue/')).toEqual([]);
    expect(received).toHaveLength(1);
    const alert = received[0]!.body as { msgtype: string; markdown: { title: string; text: string }; attachments: { text: string; fallback: string }[] };
    expect(received[0]!.contentType).toMatch(/application\/json/);
    expect(alert.msgtype).toBe('markdown');
    expect(alert.markdown.title).toContain('spark-jobs/etl-orders-daily-20250514-0300');
    expect(alert.attachments[0]!.text).toContain('reason: forbidden');
    expect(alert).not.toHaveProperty('text');
  });
});
