import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type RunningServe, startServe } from '../../app/cli/serve.js';
import { run as archiverRun } from '../../functions/log-archiver/handler.js';
import { createLogViewer } from '../../functions/log-viewer/handler.js';
import type { LogViewerDeps } from '../../functions/log-viewer/live-cluster.js';
import { loadConfig } from '../../shared/config.js';
import { createKubeClients } from '../../shared/k8s/client.js';
import type { FileObjectStore } from '../../shared/store/fs-store.js';
import { type KubeObject, type TestApiserver, startTestApiserver } from '../support/apiserver/index.js';
import { type TestBrowser, startBrowser } from '../support/browser.js';
import { APP_ID, batch, depsFor, executorLine, record, tempStore } from '../log-archiver/support.js';

const NS = 'spark-jobs';
const POD = 'etl-orders-daily-7d3f9a2b1c8e4f60-exec-1';
const CONTAINER = 'spark-kubernetes-executor';
const NODE = 'virtual-kubelet-cn-hangzhou-k';
/** 2025-05-14T02:15:00Z: the lines' times start here. */
const T0 = Date.UTC(2025, 4, 14, 2, 15, 0);
const PAGE_TIMEOUT_MS = 20_000;

/** An executor pod as Spark creates it, running. */
const executorPod: KubeObject = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: POD, namespace: NS, labels: { 'spark-app-selector': APP_ID, 'spark-role': 'executor', 'spark-exec-id': '1' } },
  spec: { nodeName: NODE, containers: [{ name: CONTAINER, image: 'spark:3.5.1' }] },
  status: { phase: 'Running', containerStatuses: [{ name: CONTAINER, ready: true, restartCount: 0, image: 'spark', imageID: '', containerID: 'containerd://first', state: { running: { startedAt: '2025-05-14T02:14:00Z' } } }] },
};

/** Line i of the executor's stderr and its kubelet time (RFC3339 with nanoseconds). */
const text = (i: number) => (i === 45 ? `line ${i} <img src=x onerror="window.__xss=1"><script>window.__xss=2</script>` : `line ${i}`);
const timeOf = (i: number) => `${new Date(T0 + i * 100).toISOString().slice(0, 19)}.${String(((T0 + i * 100) % 1000) * 1_000_000 + i).padStart(9, '0')}Z`;
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, k) => from + k);

let browser: TestBrowser;
let store: FileObjectStore;
let cleanup: () => Promise<void>;
let api: TestApiserver;
let serve: RunningServe;
beforeAll(async () => {
  browser = await startBrowser();
}, 60_000);
afterAll(async () => browser?.close());
beforeEach(async () => {
  ({ store, cleanup } = await tempStore());
  api = await startTestApiserver();
  const deps: LogViewerDeps = { ...depsFor(store), cluster: await createKubeClients(api.kubeConfig()) };
  serve = await startServe({ config: loadConfig({ SPARKFN_STORE: 'file:///nonexistent-unused' }), functions: [createLogViewer({ access: { kind: 'none' } })], port: 0, host: '127.0.0.1', deps });
  browser.offHostRequests.length = 0;
});
afterEach(async () => {
  await serve?.close();
  await api?.stop();
  await cleanup();
});

describe('log-viewer in a browser, live', () => {
  it('follows a live pod and sees new lines appear as the test apiserver’s pod log grows', async () => {
    // Lines 1..30 archived (Filebeat shipped them); the pod's own log has them too, and 31..40 not shipped yet.
    await archiverRun(batch(range(1, 30).map((i) => record(i, executorLine(text(i), { time: T0 + i * 100 })))), depsFor(store), {});
    api.put(executorPod);
    const append = (lines: number[]) => api.podLogs.append(NS, POD, CONTAINER, lines.map((i) => ({ text: text(i), time: timeOf(i) })));
    append(range(1, 40));

    const page = await browser.newPage();
    page.setDefaultTimeout(PAGE_TIMEOUT_MS);
    const problems: string[] = [];
    page.on('console', (m) => void (m.type() === 'error' && problems.push(m.text())));
    page.on('pageerror', (e) => problems.push(e.message));

    await page.goto(`${serve.url}/logs/${APP_ID}`);
    expect(await page.locator('#executor-1 .live').innerText()).toBe('live');
    expect(await page.locator('#executor-1').innerText()).toContain(NODE);
    await page.locator('#executor-1 a.stream-stderr').click();

    await page.locator('#follow').waitFor();
    expect(await page.locator('#log .l').count()).toBe(30);
    await page.click('#follow');
    // What the pod holds past the archive arrives first, each line once, numbered on.
    await page.locator('#L40').waitFor();
    await expect.poll(() => api.podLogs.openFollows).toBe(1);
    append(range(41, 50));
    await page.locator('#L50').waitFor();
    expect(await page.locator('#log .l').evaluateAll((ls) => ls.map((l) => l.textContent))).toEqual(range(1, 50).map((i) => `${i}${text(i)}`));
    expect(await page.locator('#log img, #log script').count()).toBe(0);
    await browser.screenshot(page, 'logs-follow-live');

    api.setPodPhase(NS, POD, 'Succeeded');
    await page.locator('#follow-status').getByText('the log ended').waitFor();
    expect(await page.locator('#log .l').count()).toBe(50);
    expect(await page.evaluate('typeof window.__xss')).toBe('undefined');
    expect(browser.offHostRequests).toEqual([]);
    expect(problems).toEqual([]);
    await page.close();
  }, 120_000);
});
