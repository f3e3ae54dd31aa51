import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiException } from '@kubernetes/client-node';
import { DEFAULT_SETTINGS, type QuotaRetrySettings } from '../../functions/quota-retry/settings.js';
import type { QuotaRetryDeps } from '../../functions/quota-retry/quota-retry-deps.js';
import { ManualClock } from '../../shared/clock.js';
import { createKubeClients, type KubeClients } from '../../shared/k8s/client.js';
import { silentLogger } from '../../shared/logger.js';
import { Metrics } from '../../shared/metrics.js';
import type { HttpInput } from '../../shared/platform/trigger.js';
import { FileObjectStore } from '../../shared/store/fs-store.js';
import { listAll } from '../../shared/store/read.js';
import { startTestApiserver, type TestApiserver } from '../support/apiserver/index.js';
import { seededRandom } from '../support/apiserver/rng.js';

export const WEBHOOK_TOKEN = 'quota-retry-test-token-0123456789';
/** The bearer token quota-retry talks to the test apiserver with, so its calls can be told from the submitter's. */
export const FUNCTION_TOKEN = 'quota-retry-function-token';
export const FUNCTION_USER = 'quota-retry';

/** Settings for tests: the documented defaults, a webhook token, no environment. */
export function testSettings(overrides: Partial<QuotaRetrySettings> = {}): QuotaRetrySettings {
  return { ...DEFAULT_SETTINGS, webhookAuth: { token: WEBHOOK_TOKEN }, ...overrides };
}

/** One test's world: a test apiserver, a fresh filesystem store, a manual clock and seeded jitter. */
export interface QuotaRetryWorld {
  server: TestApiserver;
  clock: ManualClock;
  store: FileObjectStore;
  /** The function's deps: its own apiserver user; backoff waits advance the clock instead of sleeping. */
  deps: QuotaRetryDeps;
  /** The submitter's (and the test's) client. */
  submitter: KubeClients;
  /** Every backoff wait asked for, in ms. */
  waits: number[];
  stop(): Promise<void>;
}

export async function startWorld(options: { seed?: number } = {}): Promise<QuotaRetryWorld> {
  const server = await startTestApiserver({ seed: options.seed ?? 1 });
  server.addUser(FUNCTION_TOKEN, FUNCTION_USER);
  const dir = await mkdtemp(join(tmpdir(), 'quota-retry-'));
  const store = new FileObjectStore(dir);
  const clock = new ManualClock(Date.UTC(2025, 4, 14, 3, 0, 0));
  const waits: number[] = [];
  const deps: QuotaRetryDeps = {
    store,
    clock,
    logger: silentLogger,
    metrics: new Metrics(),
    cluster: await createKubeClients(server.kubeConfig({ token: FUNCTION_TOKEN })),
    random: seededRandom((options.seed ?? 1) + 100),
    sleep: async (ms) => {
      waits.push(ms);
      clock.advance(ms);
      return true;
    },
  };
  return {
    server,
    clock,
    store,
    deps,
    submitter: await createKubeClients(server.kubeConfig()),
    waits,
    async stop() {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A ResourceQuota as a namespace admin writes it; the test apiserver fills in its status. */
export function putQuota(server: TestApiserver, namespace: string, hard: Record<string, string>, name = 'spark-quota'): void {
  server.put({ apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name, namespace }, spec: { hard } });
}

/** A Spark driver pod of the given size, as spark-submit builds it. */
export function driverPod(name: string, options: { cpu: string; memory: string; department?: string; namespace?: string }): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      ...(options.namespace ? { namespace: options.namespace } : {}),
      labels: { 'spark-role': 'driver', 'spark-app-name': name.replace(/-driver$/, ''), ...(options.department ? { 'sparkfn.io/department': options.department } : {}) },
    },
    spec: {
      restartPolicy: 'Never',
      containers: [
        {
          name: 'spark-kubernetes-driver',
          image: 'registry.cn-hangzhou.aliyuncs.com/acs/spark:v3.5.1',
          resources: { requests: { cpu: options.cpu, memory: options.memory }, limits: { cpu: options.cpu, memory: options.memory } },
        },
      ],
    },
  };
}

/** The webhook request a submitter posts, authenticated with the test token unless told otherwise. */
export function webhookRequest(body: unknown, headers: Record<string, string> = { authorization: `Bearer ${WEBHOOK_TOKEN}` }): HttpInput {
  return {
    kind: 'http',
    source: 'local',
    method: 'POST',
    path: '/quota-retry/submission-failed',
    query: {},
    headers: { 'content-type': 'application/json', ...headers },
    body: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)),
  };
}

/** The metav1.Status a failed client-node call carried (its body, as the apiserver sent it). */
export function statusOf(err: unknown): Record<string, unknown> {
  if (!(err instanceof ApiException)) throw err;
  return JSON.parse(err.body as string) as Record<string, unknown>;
}

/** Every key under `prefix` in the store. */
export async function keysUnder(store: FileObjectStore, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of listAll(store, prefix)) keys.push(o.key);
  return keys;
}

/** The JSON body of an HTTP result. */
export function bodyOf(result: unknown): Record<string, unknown> {
  return JSON.parse(String((result as { body: unknown }).body)) as Record<string, unknown>;
}
