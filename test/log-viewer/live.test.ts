import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type RunningServe, startServe } from '../../app/cli/serve.js';
import { run as archiverRun } from '../../functions/log-archiver/handler.js';
import { fn as viewer, LOG_SOURCE_HEADER, run as viewerRun } from '../../functions/log-viewer/handler.js';
import { podStatus } from '../../functions/log-viewer/executor-log.js';
import { MAX_FOLLOW_RECONNECTS } from '../../functions/log-viewer/live-follow.js';
import type { LogViewerDeps } from '../../functions/log-viewer/live-cluster.js';
import { loadConfig } from '../../shared/config.js';
import { createKubeClients } from '../../shared/k8s/client.js';
import { compactApp } from '../../functions/log-archiver/compact.js';
import { DEFAULT_SETTINGS } from '../../functions/log-archiver/settings.js';
import { S3ObjectStore } from '../../shared/store/s3-store.js';
import type { ObjectStore } from '../../shared/store/object-store.js';
import { type S3rverHarness, startS3rver } from '../support/s3rver.js';
import { type KubeObject, startTestApiserver, type TestApiserver } from '../support/apiserver/index.js';
import { APP_ID, batch, depsFor, executorLine, filebeatValue, linesOf, record, tempStore } from '../log-archiver/support.js';

const NS = 'spark-jobs';
const EXECUTOR_CONTAINER = 'spark-kubernetes-executor';
const DRIVER_CONTAINER = 'spark-kubernetes-driver';
/** 2025-05-14T02:15:00Z: every line of these tests has a time from here on. */
const T0 = Date.UTC(2025, 4, 14, 2, 15, 0);

/** A line of the container's log: its text, stream, and CRI time (ns since the epoch). */
interface Line {
  text: string;
  stream: 'stdout' | 'stderr';
  timeNs: bigint;
}

const nsAt = (ms: number, extraNs = 0): bigint => BigInt(ms) * 1_000_000n + BigInt(extraNs);
/** The kubelet's time of a line as RFC3339 with nine fraction digits (what the test apiserver takes). */
const rfc = (timeNs: bigint): string => `${new Date(Number(timeNs / 1_000_000n)).toISOString().slice(0, 19)}.${(timeNs % 1_000_000_000n).toString().padStart(9, '0')}Z`;

function executorPod(executorId: string, options: { driver?: boolean; name?: string } = {}): KubeObject {
  const driver = options.driver ?? false;
  const container = driver ? DRIVER_CONTAINER : EXECUTOR_CONTAINER;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: options.name ?? (driver ? 'etl-orders-daily-driver' : `etl-orders-daily-7d3f9a2b1c8e4f60-exec-${executorId}`),
      namespace: NS,
      labels: { 'spark-app-selector': APP_ID, 'spark-role': driver ? 'driver' : 'executor', ...(driver ? {} : { 'spark-exec-id': executorId }) },
    },
    spec: { nodeName: 'virtual-kubelet-cn-hangzhou-k', containers: [{ name: container, image: 'spark:3.5.1' }, { name: 'log-sidecar', image: 'busybox' }] },
    status: { phase: 'Running', containerStatuses: [{ name: container, ready: true, restartCount: 0, image: 'spark', imageID: '', containerID: 'containerd://first', state: { running: { startedAt: '2025-05-14T02:14:00Z' } } }] },
  };
}

let store: ObjectStore;
let cleanup: () => Promise<void>;
let api: TestApiserver;
let serve: RunningServe;
let deps: LogViewerDeps;
let offset = 0;

beforeEach(async () => {
  ({ store, cleanup } = await tempStore());
  api = await startTestApiserver();
  const cluster = await createKubeClients(api.kubeConfig());
  deps = { ...depsFor(store), cluster, sleep: (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 20))) };
  serve = await startServe({ config: loadConfig({ SPARKFN_STORE: 'file:///nonexistent-unused' }), functions: [viewer], port: 0, host: '127.0.0.1', deps });
  offset = 0;
});
afterEach(async () => {
  await serve.close();
  await api.stop();
  await cleanup();
});

/** Archives lines as Filebeat ships them (one Kafka record each, `@timestamp` = the CRI time in ms). */
async function archive(lines: readonly Line[], executorId = '1'): Promise<void> {
  const records = lines.map((l) => {
    const time = Number(l.timeNs / 1_000_000n);
    const value =
      executorId === 'driver'
        ? filebeatValue('container-driver', (e) => {
            e.message = l.text;
            e.stream = l.stream;
            e['@timestamp'] = new Date(time).toISOString();
          })
        : executorLine(l.text, { executorId, stream: l.stream, time });
    return record(offset++, value);
  });
  const summary = await archiverRun(batch(records), depsFor(store), {});
  expect(summary).toMatchObject({ archived: lines.length });
}

function appendToPod(pod: string, lines: readonly Line[], container = EXECUTOR_CONTAINER): void {
  api.podLogs.append(NS, pod, container, lines.map((l) => ({ text: l.text, time: rfc(l.timeNs) })));
}

async function get(path: string): Promise<{ status: number; source: string | null; seam: string | null; text: string }> {
  const res = await fetch(`${serve.url}${path}`);
  return { status: res.status, source: res.headers.get(LOG_SOURCE_HEADER), seam: res.headers.get('x-sparkfn-log-seam'), text: await res.text() };
}

/**
 * Lines 1..M of an executor, stderr, about twelve per second, with runs of identical text at one
 * millisecond: `dup` three times at the ms of line N (two archived, one only in the pod), and
 * `same` three times at one ms well inside the overlap.
 */
function seamFixture(n: number, m: number): Line[] {
  const lines: Line[] = [];
  for (let i = 1; i <= m; i++) {
    const ms = T0 + 100 + i * 80;
    lines.push({ text: `line ${i}`, stream: 'stderr', timeNs: nsAt(ms, i) });
  }
  // Lines N-1, N (archived) and N+1 (pod only): identical text, the same millisecond, ns apart.
  const seamMs = T0 + 100 + n * 80;
  for (const [k, i] of [n - 1, n, n + 1].entries()) lines[i - 1] = { text: 'dup', stream: 'stderr', timeNs: nsAt(seamMs, 100 + k) };
  // Three identical lines at one ms a little before: archived and in the pod's window (the seam's second).
  const sameMs = T0 + 100 + (n - 3) * 80;
  for (const [k, i] of [n - 4, n - 3, n - 2].entries()) lines[i - 1] = { text: 'same', stream: 'stderr', timeNs: nsAt(sameMs, 10 + k) };
  return lines;
}

describe('log-viewer: archive and live pod log behind one URL', () => {
  it('joins the archive (1..N) and the pod log (N+1..M, and some of 1..N) at the seam: 1..M once each, in order', async () => {
    const N = 20;
    const M = 30;
    const lines = seamFixture(N, M);
    await archive(lines.slice(0, N));
    api.put(executorPod('1'));
    appendToPod('etl-orders-daily-7d3f9a2b1c8e4f60-exec-1', lines);

    const answer = await get(`/logs/${APP_ID}/1/stderr`);
    expect(answer.status).toBe(200);
    expect(answer.source).toBe('archive+live');
    expect(answer.seam).toBe('text');
    expect(linesOf(answer.text)).toEqual(lines.map((l) => l.text));
    expect(linesOf(answer.text).filter((t) => t === 'dup')).toHaveLength(3);
    expect(linesOf(answer.text).filter((t) => t === 'same')).toHaveLength(3);

    // HEAD: the same headers, no body, and no pods/log request left open.
    const head = await fetch(`${serve.url}/logs/${APP_ID}/1/stderr?follow=1`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get(LOG_SOURCE_HEADER)).toBe('archive+live');
    expect(await head.text()).toBe('');
    expect(api.podLogs.openFollows).toBe(0);
    // The tail of the joined log.
    expect(linesOf((await get(`/logs/${APP_ID}/1/stderr?tail=12`)).text)).toEqual(lines.slice(M - 12).map((l) => l.text));
    // The pod log was asked from the second of the last archived line, with timestamps.
    const podLogCalls = api.calls.filter((c) => c.subresource === 'log');
    expect(podLogCalls.length).toBeGreaterThan(0);
  });

  it('repeats nothing and drops nothing when archive and pod log end at the same line, or the archive is ahead of nothing live', async () => {
    const lines = seamFixture(10, 10);
    await archive(lines);
    api.put(executorPod('1'));
    appendToPod('etl-orders-daily-7d3f9a2b1c8e4f60-exec-1', lines);
    expect(linesOf((await get(`/logs/${APP_ID}/1/stderr`)).text)).toEqual(lines.map((l) => l.text));
  });

  it('continues stdout and stderr alike with the merged container log (the kubelet does not split streams)', async () => {
    const lines: Line[] = [];
    for (let i = 1; i <= 12; i++) lines.push({ text: `${i % 3 === 0 ? 'out' : 'err'} ${i}`, stream: i % 3 === 0 ? 'stdout' : 'stderr', timeNs: nsAt(T0 + i * 100) });
    await archive(lines.slice(0, 8));
    api.put(executorPod('1'));
    appendToPod('etl-orders-daily-7d3f9a2b1c8e4f60-exec-1', lines);
    const live = lines.slice(8).map((l) => l.text);
    const stderr = await get(`/logs/${APP_ID}/1/stderr`);
    expect(stderr.seam).toBe('text');
    expect(linesOf(stderr.text)).toEqual([...lines.slice(0, 8).filter((l) => l.stream === 'stderr').map((l) => l.text), ...live]);
    const stdout = await get(`/logs/${APP_ID}/1/stdout`);
    expect(linesOf(stdout.text)).toEqual([...lines.slice(0, 8).filter((l) => l.stream === 'stdout').map((l) => l.text), ...live]);
  });

  it('serves the archive alone once the pod is gone, and says so', async () => {
    const lines = seamFixture(8, 12);
    await archive(lines.slice(0, 8));
    api.put(executorPod('1'));
    appendToPod('etl-orders-daily-7d3f9a2b1c8e4f60-exec-1', lines);
    expect((await get(`/logs/${APP_ID}/1/stderr`)).source).toBe('archive+live');
    api.remove('pods', NS, 'etl-orders-daily-7d3f9a2b1c8e4f60-exec-1');
    const after = await get(`/logs/${APP_ID}/1/stderr`);
    expect(after.source).toBe('archive');
    expect(linesOf(after.text)).toEqual(lines.slice(0, 8).map((l) => l.text));
    expect(await podStatus(APP_ID, '1', deps)).toEqual({ cluster: true, state: 'archived' });
  });

  it('serves the archive alone, saying why, when the pod log cannot be read', async () => {
    const lines = seamFixture(8, 12);
    await archive(lines.slice(0, 8));
    api.put(executorPod('1'));
    appendToPod('etl-orders-daily-7d3f9a2b1c8e4f60-exec-1', lines);
    api.faults.internalError(1, { resource: 'pods', subresource: 'log' });
    const res = await fetch(`${serve.url}/logs/${APP_ID}/1/stderr`);
    expect(res.headers.get(LOG_SOURCE_HEADER)).toBe('archive');
    expect(res.headers.get('x-sparkfn-live-skipped')).toMatch(/500/);
    expect(linesOf(await res.text())).toEqual(lines.slice(0, 8).map((l) => l.text));
  });

  it('serves the pod log alone before anything was archived, and 404 when there is neither', async () => {
    api.put(executorPod('4'));
    appendToPod('etl-orders-daily-7d3f9a2b1c8e4f60-exec-4', [{ text: 'starting', stream: 'stderr', timeNs: nsAt(T0) }]);
    const live = await get(`/logs/${APP_ID}/4/stderr`);
    expect(live).toMatchObject({ status: 200, source: 'live', text: 'starting\n' });
    expect((await get(`/logs/${APP_ID}/5/stderr`)).status).toBe(404);
  });

  it('treats the driver as an executor id: its pod by spark-role=driver, its Spark container', async () => {
    const lines: Line[] = [];
    for (let i = 1; i <= 9; i++) lines.push({ text: `driver ${i}`, stream: 'stderr', timeNs: nsAt(T0 + i * 300) });
    await archive(lines.slice(0, 6), 'driver');
    api.put(executorPod('driver', { driver: true }));
    appendToPod('etl-orders-daily-driver', lines, DRIVER_CONTAINER);
    const answer = await get(`/logs/${APP_ID}/driver/stderr`);
    expect(answer.source).toBe('archive+live');
    expect(linesOf(answer.text)).toEqual(lines.map((l) => l.text));
    const status = await podStatus(APP_ID, 'driver', deps);
    expect(status).toMatchObject({ cluster: true, state: 'live', pod: { namespace: NS, name: 'etl-orders-daily-driver', node: 'virtual-kubelet-cn-hangzhou-k', container: DRIVER_CONTAINER } });
  });

  it('reads the previous instance of a restarted container where the seam lies in it', async () => {
    const lines: Line[] = [];
    for (let i = 1; i <= 16; i++) lines.push({ text: `run ${i <= 10 ? 1 : 2} line ${i}`, stream: 'stderr', timeNs: nsAt(T0 + i * 200) });
    await archive(lines.slice(0, 8));
    const pod = 'etl-orders-daily-7d3f9a2b1c8e4f60-exec-1';
    api.put(executorPod('1'));
    appendToPod(pod, lines.slice(0, 10));
    api.podLogs.restart(NS, pod, EXECUTOR_CONTAINER);
    appendToPod(pod, lines.slice(10));
    const answer = await get(`/logs/${APP_ID}/1/stderr`);
    expect(answer.seam).toBe('text');
    expect(linesOf(answer.text)).toEqual(lines.map((l) => l.text));
  });

  it('follows a live pod across dropped streams (reset and clean end), each line once, and ends when the pod ends', async () => {
    const pod = 'etl-orders-daily-7d3f9a2b1c8e4f60-exec-1';
    const lines: Line[] = [];
    for (let i = 1; i <= 14; i++) lines.push({ text: i === 9 || i === 10 ? 'tick' : `line ${i}`, stream: 'stderr', timeNs: nsAt(T0 + i * 50, 7) });
    await archive(lines.slice(0, 4));
    api.put(executorPod('1'));
    appendToPod(pod, lines.slice(0, 6));

    const res = await fetch(`${serve.url}/logs/${APP_ID}/1/stderr?follow=1`);
    expect(res.status).toBe(200);
    expect(res.headers.get(LOG_SOURCE_HEADER)).toBe('archive+live');
    const reader = res.body!.getReader();
    let text = '';
    const until = async (predicate: () => boolean) => {
      while (!predicate()) {
        const { value, done } = await reader.read();
        if (done) return;
        text += Buffer.from(value).toString('utf8');
      }
    };
    await until(() => text.includes('line 6\n'));
    await expect.poll(() => api.podLogs.openFollows).toBe(1);
    appendToPod(pod, lines.slice(6, 8));
    await until(() => text.includes('line 8\n'));

    expect(api.podLogs.drop('destroy')).toBe(1);
    // Written while no stream was open, two of them identical at different ns.
    appendToPod(pod, lines.slice(8, 11));
    await until(() => text.includes('line 11\n'));
    await expect.poll(() => api.podLogs.openFollows).toBe(1);

    expect(api.podLogs.drop('end')).toBe(1);
    appendToPod(pod, lines.slice(11, 13));
    await until(() => text.includes('line 13\n'));
    await expect.poll(() => api.podLogs.openFollows).toBe(1);

    appendToPod(pod, lines.slice(13));
    api.setPodPhase(NS, pod, 'Succeeded');
    await until(() => false);
    expect(linesOf(text)).toEqual(lines.map((l) => l.text));
    const followCalls = api.calls.filter((c) => c.subresource === 'log').length;
    expect(followCalls).toBeGreaterThanOrEqual(4);
  });

  it('follows across a container restart: what the old instance wrote after a drop comes from previous, then the new instance', async () => {
    const pod = 'etl-orders-daily-7d3f9a2b1c8e4f60-exec-1';
    const lines: Line[] = [];
    for (let i = 1; i <= 10; i++) lines.push({ text: `line ${i}`, stream: 'stderr', timeNs: nsAt(T0 + i * 40) });
    await archive(lines.slice(0, 2));
    api.put(executorPod('1'));
    appendToPod(pod, lines.slice(0, 4));
    const res = await fetch(`${serve.url}/logs/${APP_ID}/1/stderr?follow=1`);
    const reader = res.body!.getReader();
    let text = '';
    const until = async (predicate: () => boolean) => {
      while (!predicate()) {
        const { value, done } = await reader.read();
        if (done) return;
        text += Buffer.from(value).toString('utf8');
      }
    };
    await until(() => text.includes('line 4\n'));
    await expect.poll(() => api.podLogs.openFollows).toBe(1);
    api.podLogs.drop('destroy');
    // The old instance writes on, unseen, then is restarted (OOM) and the new one writes.
    appendToPod(pod, lines.slice(4, 6));
    api.podLogs.restart(NS, pod, EXECUTOR_CONTAINER);
    appendToPod(pod, lines.slice(6, 9));
    await until(() => text.includes('line 9\n'));
    appendToPod(pod, lines.slice(9));
    api.setPodPhase(NS, pod, 'Failed');
    await until(() => false);
    expect(linesOf(text)).toEqual(lines.map((l) => l.text));
    expect(api.calls.some((c) => c.subresource === 'log' && c.code === 200)).toBe(true);
  });

  it('follows after a tail: the last N lines of archive and pod log, then the new ones', async () => {
    const pod = 'etl-orders-daily-7d3f9a2b1c8e4f60-exec-1';
    const lines: Line[] = [];
    for (let i = 1; i <= 9; i++) lines.push({ text: `line ${i}`, stream: 'stderr', timeNs: nsAt(T0 + i * 30) });
    await archive(lines.slice(0, 5));
    api.put(executorPod('1'));
    appendToPod(pod, lines.slice(0, 7));
    const res = await fetch(`${serve.url}/logs/${APP_ID}/1/stderr?tail=3&follow=1`);
    const reader = res.body!.getReader();
    let text = '';
    const until = async (predicate: () => boolean) => {
      while (!predicate()) {
        const { value, done } = await reader.read();
        if (done) return;
        text += Buffer.from(value).toString('utf8');
      }
    };
    await until(() => text.includes('line 7\n'));
    await expect.poll(() => api.podLogs.openFollows).toBe(1);
    appendToPod(pod, lines.slice(7));
    api.setPodPhase(NS, pod, 'Succeeded');
    await until(() => false);
    expect(linesOf(text)).toEqual(['line 5', 'line 6', 'line 7', 'line 8', 'line 9']);
  });

  it('follows from where the log page ends (?after=, the archive text it shows): exactly the lines after it, once each', async () => {
    const pod = 'etl-orders-daily-7d3f9a2b1c8e4f60-exec-1';
    const N = 20;
    const M = 30;
    const lines = seamFixture(N, M);
    // A compacted object (with its index) and a late chunk: the archive part from the byte is read through the index.
    await archive(lines.slice(0, 12));
    await compactApp(APP_ID, depsFor(store), DEFAULT_SETTINGS);
    await archive(lines.slice(12, N));
    api.put(executorPod('1'));
    appendToPod(pod, lines.slice(0, 25));

    const page = await fetch(`${serve.url}/logs/${APP_ID}/1/stderr`, { headers: { accept: 'text/html' } });
    const html = await page.text();
    const followUrl = /id="follow" data-url="([^"]+)"/.exec(html)?.[1]?.replaceAll('&amp;', '&');
    const next = Number(/data-next="(\d+)"/.exec(html)?.[1]);
    expect(followUrl).toMatch(/\?follow=1&after=\d+$/);
    expect(next).toBe(N + 1);
    const shown = [...html.matchAll(/<span class="n">\d+<\/span>([^<]*)<\/span>/g)].map((m) => m[1]);
    expect(shown).toEqual(lines.slice(0, N).map((l) => l.text));

    const res = await fetch(`${serve.url}${followUrl}`, { headers: { accept: 'text/plain' } });
    expect(res.status).toBe(200);
    expect(res.headers.get(LOG_SOURCE_HEADER)).toBe('archive+live');
    const reader = res.body!.getReader();
    let text = '';
    const until = async (predicate: () => boolean) => {
      while (!predicate()) {
        const { value, done } = await reader.read();
        if (done) return;
        text += Buffer.from(value).toString('utf8');
      }
    };
    await until(() => text.includes('line 25\n'));
    await expect.poll(() => api.podLogs.openFollows).toBe(1);
    appendToPod(pod, lines.slice(25));
    api.setPodPhase(NS, pod, 'Succeeded');
    await until(() => false);
    // Page and follow together: 1..M once each; the follow alone starts at N + 1 (the third 'dup' included).
    expect(linesOf(text)).toEqual(lines.slice(N).map((l) => l.text));
    expect([...shown, ...linesOf(text)]).toEqual(lines.map((l) => l.text));

    // Bad or misplaced ?after= is a 400.
    for (const query of ['follow=1&after=x', 'follow=1&after=-1', 'after=10', 'follow=1&tail=3&after=10']) {
      const bad = await fetch(`${serve.url}/logs/${APP_ID}/1/stderr?${query}`);
      expect(bad.status, query).toBe(400);
      expect(await bad.json()).toMatchObject({ error: { reason: 'invalid-query' } });
    }
  });

  it('gives up following after bounded reconnects when the pod log keeps failing, cutting the response', async () => {
    const pod = 'etl-orders-daily-7d3f9a2b1c8e4f60-exec-1';
    api.put(executorPod('1'));
    appendToPod(pod, [{ text: 'only line', stream: 'stderr', timeNs: nsAt(T0) }]);
    const res = await fetch(`${serve.url}/logs/${APP_ID}/1/stderr?follow=1`);
    const reader = res.body!.getReader();
    const first = await reader.read();
    expect(Buffer.from(first.value!).toString()).toBe('only line\n');
    await expect.poll(() => api.podLogs.openFollows).toBe(1);
    // From now on every pods/log request fails with 500 (the pod itself reads fine: it runs) until the follower stops asking.
    api.faults.internalError(100, { resource: 'pods', subresource: 'log' });
    api.podLogs.drop('destroy');
    await expect(
      (async () => {
        for (let i = 0; i < 100; i++) if ((await reader.read()).done) return 'ended';
        return 'still open';
      })(),
    ).rejects.toThrow();
    const failed = api.calls.filter((c) => c.subresource === 'log' && c.code === 500).length;
    // After the drop, MAX_FOLLOW_RECONNECTS reconnects were tried (each answered 500), and no more.
    expect(failed).toBe(MAX_FOLLOW_RECONNECTS);
  });

  it('links from the Spark UI and the History Server work while the pod runs and after it is gone', async () => {
    const lines = seamFixture(6, 9);
    await archive(lines.slice(0, 6));
    api.put(executorPod('1'));
    appendToPod('etl-orders-daily-7d3f9a2b1c8e4f60-exec-1', lines);
    // spark.ui.custom.executor.log.url and spark.history.custom.executor.log.url, expanded as Spark does for LOG_FILES=stdout,stderr.
    const pattern = `${serve.url}/logs/{{APP_ID}}/{{EXECUTOR_ID}}/{{FILE_NAME}}`;
    const link = (file: string) => pattern.replace('{{APP_ID}}', APP_ID).replace('{{EXECUTOR_ID}}', '1').replace('{{FILE_NAME}}', file);
    const running = await fetch(link('stderr'));
    expect(running.headers.get(LOG_SOURCE_HEADER)).toBe('archive+live');
    expect(linesOf(await running.text())).toEqual(lines.map((l) => l.text));
    expect((await fetch(link('stdout'))).status).toBe(200);
    api.remove('pods', NS, 'etl-orders-daily-7d3f9a2b1c8e4f60-exec-1');
    const finished = await fetch(link('stderr'));
    expect(finished.headers.get(LOG_SOURCE_HEADER)).toBe('archive');
    expect(linesOf(await finished.text())).toEqual(lines.slice(0, 6).map((l) => l.text));
  });

  it('serves the archive alone where there is no cluster, and refuses ?follow=1 where responses cannot stream', async () => {
    const lines = seamFixture(5, 5);
    await archive(lines);
    const noCluster: LogViewerDeps = { ...depsFor(store), cluster: undefined };
    const http = (query: Record<string, string>, source: string) => viewerRun({ kind: 'http', source, method: 'GET', path: `/logs/${APP_ID}/1/stderr`, query, headers: {}, body: Buffer.alloc(0) }, noCluster);
    const plain = await http({}, 'acs:fc:http');
    expect(plain.status).toBe(200);
    expect(plain.headers?.[LOG_SOURCE_HEADER]).toBe('archive');
    const follow = await http({ follow: '1' }, 'aws:lambda-url');
    expect(follow.status).toBe(501);
    expect(JSON.parse(String(follow.body))).toMatchObject({ error: { reason: 'follow-unsupported' } });
    expect((await http({ follow: '1', download: '1' }, 'sparkfn-serve')).status).toBe(400);
    expect((await http({ follow: 'yes' }, 'sparkfn-serve')).status).toBe(400);
    // In serve without a cluster, follow is the archive, which ends.
    expect(await podStatus(APP_ID, '1', noCluster)).toEqual({ cluster: false, state: 'archived' });
  });
});

describe('log-viewer: the seam on s3rver, over a compacted object and newer chunks', () => {
  let s3: S3rverHarness;
  afterEach(async () => {
    await s3?.stop();
  });

  it('serves 1..M once each when 1..N are archived as a compacted object plus a late chunk', async () => {
    s3 = await startS3rver();
    store = new S3ObjectStore({ bucket: await s3.createBucket(), endpoint: s3.endpoint, forcePathStyle: true, credentials: s3.credentials });
    await serve.close();
    deps = { ...deps, store };
    serve = await startServe({ config: loadConfig({ SPARKFN_STORE: 'file:///nonexistent-unused' }), functions: [viewer], port: 0, host: '127.0.0.1', deps });
    const N = 24;
    const M = 33;
    const lines = seamFixture(N, M);
    await archive(lines.slice(0, 16));
    await compactApp(APP_ID, { ...depsFor(store) }, DEFAULT_SETTINGS);
    await archive(lines.slice(16, N));
    api.put(executorPod('1'));
    appendToPod('etl-orders-daily-7d3f9a2b1c8e4f60-exec-1', lines);
    const answer = await get(`/logs/${APP_ID}/1/stderr`);
    expect(answer).toMatchObject({ status: 200, source: 'archive+live', seam: 'text' });
    expect(linesOf(answer.text)).toEqual(lines.map((l) => l.text));
  });
});
