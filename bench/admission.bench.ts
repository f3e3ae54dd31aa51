// p99 latency of spot-fallback's admission route against a no-op route on the same `sparkfn serve`
// (HTTPS, as the apiserver calls it), at 200 concurrent keep-alive connections, in the same run.
// Rounds alternate between the two routes so drift (GC, JIT, the other tenants of the machine)
// hits both alike. Goal: p99 ratio ≤ 2.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../shared/clock.js';
import { loadConfig } from '../shared/config.js';
import { startServe } from '../app/cli/serve.js';
import { jsonResult } from '../shared/http/server.js';
import { silentLogger } from '../shared/logger.js';
import { Metrics } from '../shared/metrics.js';
import type { SparkFunction } from '../shared/platform/function.js';
import { FileObjectStore } from '../shared/store/fs-store.js';
import { putSignal } from '../functions/spot-fallback/facts.js';
import { createSpotFunction } from '../functions/spot-fallback/handler.js';
import { DEFAULT_SPOT_SETTINGS } from '../functions/spot-fallback/settings.js';
import { selfSignedCertificate } from '../test/support/apiserver/tls.js';
import { readFileSync } from 'node:fs';

/**
 * 200 as the apiserver fans out (SPARKFN_BENCH_CONNECTIONS changes it). The agent, like the
 * apiserver's Go client, reuses idle connections without a timeout of its own: with Node's 5 s
 * server keep-alive the connections left idle between rounds on a busy machine were closed under
 * requests already sent on them (ECONNRESET); SPARKFN_HTTP_KEEP_ALIVE_TIMEOUT_MS (95 s) fixed that.
 */
const CONNECTIONS = Number(process.env.SPARKFN_BENCH_CONNECTIONS ?? 200);
const REQUESTS_PER_CONNECTION = 20;
const ROUNDS = 4;

const dir = await mkdtemp(join(tmpdir(), 'sparkfn-bench-admission-'));
const certificate = await selfSignedCertificate();
await writeFile(join(dir, 'tls.crt'), certificate.cert);
await writeFile(join(dir, 'tls.key'), certificate.key);
const store = new FileObjectStore(join(dir, 'store'));
// One zone out of spot stock, so every request takes the reorder path (the most work): the state is
// derived from facts, as the function writes them, 40 of them so that the derivation has some to fold.
const settings = { ...DEFAULT_SPOT_SETTINGS, openTtlMs: 3_600_000, maxOpenTtlMs: 3_600_000, vswitchZones: { 'vsw-bp1h2k3m4n5p6q7r8s9t0': 'cn-hangzhou-h', 'vsw-bp1i9z8y7x6w5v4u3t2s1': 'cn-hangzhou-i' } };
for (let i = 0; i < 40; i++) {
  await putSignal(store, { kind: 'stock-out', reason: 'NoStock', pod: `pod-${i}`, at: Date.now() - i * 1000, capacity: 'spot', breakers: ['cn-hangzhou-h/ecs.c6.xlarge', 'cn-hangzhou-h/ecs.g6.xlarge'] });
}
const noop: SparkFunction = {
  name: 'noop',
  triggers: ['http'],
  routes: [{ path: '/noop', methods: ['POST'], auth: 'public' }],
  run: async () => jsonResult(200, { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'x', allowed: true } }),
};
const config = loadConfig({ SPARKFN_TLS_CERT_FILE: join(dir, 'tls.crt'), SPARKFN_TLS_KEY_FILE: join(dir, 'tls.key'), SPARKFN_LOG_LEVEL: 'silent' });
const serve = await startServe({
  config,
  functions: [createSpotFunction({ settings, cluster: null }), noop],
  port: 0,
  host: '127.0.0.1',
  deps: { store, clock: systemClock, logger: silentLogger, metrics: new Metrics() },
});
const body = readFileSync(new URL('../events/spot-fallback/data/admission-review-executor.json', import.meta.url));
const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS, ca: certificate.cert });

function post(path: string): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, serve.url), { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': body.length } }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve(performance.now() - started) : reject(new Error(`${path} answered ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function round(path: string, into: number[]): Promise<void> {
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      for (let i = 0; i < REQUESTS_PER_CONNECTION; i++) into.push(await post(path));
    }),
  );
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

await round('/noop', []);
await round('/admission/spot-fallback', []);
const latencies = { noop: [] as number[], admission: [] as number[] };
for (let r = 0; r < ROUNDS; r++) {
  await round('/noop', latencies.noop);
  await round('/admission/spot-fallback', latencies.admission);
}
agent.destroy();
await serve.close();
await rm(dir, { recursive: true, force: true });

const row = (name: string, v: number[]) => `${name.padEnd(10)} n=${v.length}  p50=${percentile(v, 50).toFixed(2)} ms  p99=${percentile(v, 99).toFixed(2)} ms`;
console.log(`admission webhook vs no-op route, HTTPS, ${CONNECTIONS} concurrent connections`);
console.log(row('no-op', latencies.noop));
console.log(row('admission', latencies.admission));
const ratio = percentile(latencies.admission, 99) / percentile(latencies.noop, 99);
console.log(`p99 ratio admission / no-op: ${ratio.toFixed(2)} (goal ≤ 2)`);
