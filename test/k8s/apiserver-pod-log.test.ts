import { PassThrough } from 'node:stream';
import { ApiException, CoreV1Api, Log } from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../shared/clock.js';
import { type KubeObject, startTestApiserver, type TestApiserver } from '../support/apiserver/index.js';

const NS = 'spark-jobs';
const T0 = Date.UTC(2025, 4, 14, 2, 15, 0);

function executorPod(name: string, containers = ['spark-kubernetes-executor']): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: NS, labels: { 'spark-role': 'executor' } },
    spec: { containers: containers.map((c) => ({ name: c, image: 'spark:3.5.1' })) },
    status: { phase: 'Running', containerStatuses: containers.map((c) => ({ name: c, ready: true, restartCount: 0, image: 'spark', imageID: '', state: { running: { startedAt: '2025-05-14T02:14:00Z' } } })) },
  };
}

/** What the ApiException of a failed pods/log call says: code and Status message. */
async function failure(call: Promise<unknown>): Promise<{ code: number; message: string; reason: string }> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApiException);
  const body = JSON.parse(String((err as ApiException<string>).body)) as { message: string; reason: string };
  return { code: (err as ApiException<string>).code, message: body.message, reason: body.reason };
}

/** Reads a Log-class stream until `predicate` holds for the text so far (bounded by the test timeout). */
function collect(stream: PassThrough): { text: () => string; ended: Promise<void>; until: (predicate: (text: string) => boolean) => Promise<string> } {
  let text = '';
  const waiters: { predicate: (t: string) => boolean; resolve: (t: string) => void }[] = [];
  stream.on('data', (c: Buffer) => {
    text += c.toString('utf8');
    for (const w of [...waiters]) if (w.predicate(text)) waiters.splice(waiters.indexOf(w), 1) && w.resolve(text);
  });
  const ended = new Promise<void>((resolve) => stream.once('end', () => resolve()));
  return {
    text: () => text,
    ended,
    until: (predicate) => (predicate(text) ? Promise.resolve(text) : new Promise((resolve) => waiters.push({ predicate, resolve }))),
  };
}

let server: TestApiserver;
let core: CoreV1Api;
let clock: ManualClock;

beforeEach(async () => {
  clock = new ManualClock(T0);
  server = await startTestApiserver({ clock });
  core = server.kubeConfig().makeApiClient(CoreV1Api);
});
afterEach(async () => {
  await server.stop();
});

describe('test apiserver: pods/log', () => {
  it('serves a container log as text, with timestamps, tailLines, sinceTime, sinceSeconds and limitBytes', async () => {
    server.put(executorPod('exec-1'));
    server.podLogs.append(NS, 'exec-1', 'spark-kubernetes-executor', [
      { text: 'one', time: '2025-05-14T02:15:00.100000000Z' },
      { text: 'two', time: '2025-05-14T02:15:01.000000001Z' },
      { text: 'three', time: '2025-05-14T02:15:02.5Z' },
    ]);
    expect(await core.readNamespacedPodLog({ name: 'exec-1', namespace: NS })).toBe('one\ntwo\nthree\n');
    expect(await core.readNamespacedPodLog({ name: 'exec-1', namespace: NS, timestamps: true, tailLines: 2 })).toBe(
      '2025-05-14T02:15:01.000000001Z two\n2025-05-14T02:15:02.500000000Z three\n',
    );
    // sinceTime is not in the typed API: the Log class sends it.
    const out = new PassThrough();
    const read = collect(out);
    await new Log(server.kubeConfig()).log(NS, 'exec-1', 'spark-kubernetes-executor', out, { sinceTime: '2025-05-14T02:15:01Z' });
    await read.ended;
    expect(read.text()).toBe('two\nthree\n');
    clock.set(Date.UTC(2025, 4, 14, 2, 15, 3));
    expect(await core.readNamespacedPodLog({ name: 'exec-1', namespace: NS, sinceSeconds: 2 })).toBe('two\nthree\n');
    expect(await core.readNamespacedPodLog({ name: 'exec-1', namespace: NS, limitBytes: 6 })).toBe('one\ntw');
    expect(await core.readNamespacedPodLog({ name: 'exec-1', namespace: NS, tailLines: 0 })).toBe('');
    const raw = await fetch(`${server.url}/api/v1/namespaces/${NS}/pods/exec-1/log?tailLines=1`, { headers: { authorization: `Bearer ${server.token}` } });
    expect(raw.headers.get('content-type')).toBe('text/plain');
    expect(await raw.text()).toBe('three\n');
  });

  it('answers as kube-apiserver does for a missing pod, a wrong or missing container, no previous instance, bad options', async () => {
    server.put(executorPod('exec-2', ['spark-kubernetes-executor', 'sidecar']));
    expect(await failure(core.readNamespacedPodLog({ name: 'nope', namespace: NS }))).toEqual({ code: 404, reason: 'NotFound', message: 'pods "nope" not found' });
    expect(await failure(core.readNamespacedPodLog({ name: 'exec-2', namespace: NS }))).toEqual({
      code: 400,
      reason: 'BadRequest',
      message: 'a container name must be specified for pod exec-2, choose one of: [spark-kubernetes-executor sidecar]',
    });
    expect(await failure(core.readNamespacedPodLog({ name: 'exec-2', namespace: NS, container: 'x' }))).toEqual({ code: 400, reason: 'BadRequest', message: 'container x is not valid for pod exec-2' });
    expect(await failure(core.readNamespacedPodLog({ name: 'exec-2', namespace: NS, container: 'sidecar', previous: true }))).toEqual({
      code: 400,
      reason: 'BadRequest',
      message: 'previous terminated container "sidecar" in pod "exec-2" not found',
    });
    const invalid = await failure(core.readNamespacedPodLog({ name: 'exec-2', namespace: NS, container: 'sidecar', tailLines: -1 }));
    expect(invalid).toEqual({ code: 422, reason: 'Invalid', message: 'PodLogOptions "exec-2" is invalid: tailLines: Invalid value: -1: must be greater than or equal to 0' });
    expect(server.calls.at(-1)).toMatchObject({ verb: 'get', resource: 'pods', subresource: 'log', code: 422 });
  });

  it('keeps the previous instance after a restart and says so in the pod status', async () => {
    server.put(executorPod('exec-3'));
    server.podLogs.append(NS, 'exec-3', 'spark-kubernetes-executor', ['before the OOM']);
    server.podLogs.restart(NS, 'exec-3', 'spark-kubernetes-executor');
    server.podLogs.append(NS, 'exec-3', 'spark-kubernetes-executor', ['after']);
    expect(await core.readNamespacedPodLog({ name: 'exec-3', namespace: NS })).toBe('after\n');
    expect(await core.readNamespacedPodLog({ name: 'exec-3', namespace: NS, previous: true })).toBe('before the OOM\n');
    const pod = await core.readNamespacedPod({ name: 'exec-3', namespace: NS });
    expect(pod.status?.containerStatuses?.[0]).toMatchObject({ restartCount: 1, lastState: { terminated: { exitCode: 137 } }, state: { running: {} } });
  });

  it('streams a follow request, ends it when the container ends, and can drop it', async () => {
    server.put(executorPod('exec-4'));
    server.podLogs.append(NS, 'exec-4', 'spark-kubernetes-executor', ['first']);
    const out = new PassThrough();
    const read = collect(out);
    await new Log(server.kubeConfig()).log(NS, 'exec-4', 'spark-kubernetes-executor', out, { follow: true, timestamps: true });
    await read.until((t) => t.includes('first'));
    server.podLogs.append(NS, 'exec-4', 'spark-kubernetes-executor', ['second']);
    await read.until((t) => t.includes('second'));
    expect(server.podLogs.openFollows).toBe(1);
    server.setPodPhase(NS, 'exec-4', 'Succeeded');
    await read.ended;
    expect(read.text()).toMatch(/^2025-05-14T02:15:00\.000000000Z first\n2025-05-14T02:15:00\.000000001Z second\n$/);
    expect(server.podLogs.openFollows).toBe(0);

    // A dropped stream (clean end, as a proxy's timeout): the Log class's stream just ends.
    server.put(executorPod('exec-5'));
    const again = new PassThrough();
    const second = collect(again);
    await new Log(server.kubeConfig()).log(NS, 'exec-5', 'spark-kubernetes-executor', again, { follow: true });
    await expect.poll(() => server.podLogs.openFollows).toBe(1);
    expect(server.podLogs.drop('end')).toBe(1);
    await second.ended;
    expect(second.text()).toBe('');
  });

  it('ends the follow stream of a deleted pod and forgets its logs', async () => {
    server.put(executorPod('exec-6'));
    const out = new PassThrough();
    const read = collect(out);
    await new Log(server.kubeConfig()).log(NS, 'exec-6', 'spark-kubernetes-executor', out, { follow: true });
    await expect.poll(() => server.podLogs.openFollows).toBe(1);
    await core.deleteNamespacedPod({ name: 'exec-6', namespace: NS });
    await read.ended;
    expect((await failure(core.readNamespacedPodLog({ name: 'exec-6', namespace: NS }))).code).toBe(404);
  });
});
