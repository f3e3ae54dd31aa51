import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fastJsonPatch from 'fast-json-patch';
import { ManualClock } from '../../shared/clock.js';
import { loadConfig } from '../../shared/config.js';
import type { Deps } from '../../shared/deps.js';
import { silentLogger } from '../../shared/logger.js';
import { Metrics } from '../../shared/metrics.js';
import { startServe, type RunningServe } from '../../app/cli/serve.js';
import { FileObjectStore } from '../../shared/store/fs-store.js';
import type { ObjectStore } from '../../shared/store/object-store.js';
import { createSpotFunction } from '../../functions/spot-fallback/handler.js';
import type { SpotCluster } from '../../functions/spot-fallback/cluster.js';
import { DEFAULT_SPOT_SETTINGS, type SpotSettings } from '../../functions/spot-fallback/settings.js';
import { selfSignedCertificate } from '../support/apiserver/tls.js';
import { loadEvent } from '../support/events.js';

export const VSW_H = 'vsw-bp1h2k3m4n5p6q7r8s9t0';
export const VSW_I = 'vsw-bp1i9z8y7x6w5v4u3t2s1';
export const NS = 'spark-jobs';

/** The defaults, with the sample cluster's vSwitches mapped to their zones. */
export function testSettings(overrides: Partial<SpotSettings> = {}): SpotSettings {
  return { ...DEFAULT_SPOT_SETTINGS, vswitchZones: { [VSW_H]: 'cn-hangzhou-h', [VSW_I]: 'cn-hangzhou-i' }, ...overrides };
}

export async function tempStore(): Promise<{ store: FileObjectStore; dispose(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'sparkfn-spot-'));
  return { store: new FileObjectStore(dir), dispose: () => rm(dir, { recursive: true, force: true }) };
}

export function baseDeps(store: ObjectStore, clock = new ManualClock(Date.UTC(2025, 4, 14, 2, 30))): Deps & { clock: ManualClock } {
  return { store, clock, logger: silentLogger, metrics: new Metrics() };
}

export interface TlsServe {
  serve: RunningServe;
  ca: string;
  spot: ReturnType<typeof createSpotFunction>;
  close(): Promise<void>;
}

/** `sparkfn serve` over HTTPS (SPARKFN_TLS_* files, and SPARKFN_ADMISSION_CLIENT_CA_FILE with `clientCa`) hosting spot-fallback only. */
export async function startTlsServe(deps: Deps, settings: SpotSettings, cluster: SpotCluster | null = null, clientCa?: string): Promise<TlsServe> {
  const certificate = await selfSignedCertificate();
  const dir = await mkdtemp(join(tmpdir(), 'sparkfn-spot-tls-'));
  await writeFile(join(dir, 'tls.crt'), certificate.cert);
  await writeFile(join(dir, 'tls.key'), certificate.key);
  if (clientCa !== undefined) await writeFile(join(dir, 'client-ca.crt'), clientCa);
  const config = loadConfig({
    SPARKFN_TLS_CERT_FILE: join(dir, 'tls.crt'),
    SPARKFN_TLS_KEY_FILE: join(dir, 'tls.key'),
    ...(clientCa !== undefined ? { SPARKFN_ADMISSION_CLIENT_CA_FILE: join(dir, 'client-ca.crt') } : {}),
    SPARKFN_LOG_LEVEL: 'silent',
  });
  const spot = createSpotFunction({ settings, cluster });
  const serve = await startServe({ config, functions: [spot], port: 0, host: '127.0.0.1', deps });
  return {
    serve,
    ca: certificate.cert,
    spot,
    close: async () => {
      await serve.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface AdmissionAnswer {
  status: number;
  review: { apiVersion: string; kind: string; response: { uid: string; allowed: boolean; patchType?: string; patch?: string } };
  patch: fastJsonPatch.Operation[];
}

/** POSTs a body to the webhook over HTTPS, trusting only `ca`, presenting `client`'s certificate when given. */
export function postAdmission(
  url: string,
  ca: string,
  body: unknown,
  path = '/admission/spot-fallback',
  headers: Record<string, string> = {},
  client?: { cert: string; key: string },
): Promise<AdmissionAnswer> {
  const payload = Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, url), { method: 'POST', ca, ...(client ? { cert: client.cert, key: client.key } : {}), headers: { ...headers, 'content-type': 'application/json', 'content-length': payload.length } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        try {
          const review = JSON.parse(text) as AdmissionAnswer['review'];
          const patch = review.response?.patch ? (JSON.parse(Buffer.from(review.response.patch, 'base64').toString('utf8')) as fastJsonPatch.Operation[]) : [];
          resolve({ status: res.statusCode ?? 0, review, patch });
        } catch (err) {
          reject(new Error(`not JSON (${res.statusCode}): ${text}`, { cause: err }));
        }
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** The pod after the webhook's patch, applied with a JSONPatch library (validating each operation). */
export function patched<T>(pod: T, patch: fastJsonPatch.Operation[]): T {
  return fastJsonPatch.applyPatch(structuredClone(pod), patch, true, false).newDocument;
}

type Review = { request: { uid: string; object: { metadata: { name: string; labels: Record<string, string>; annotations: Record<string, string> } } } };

/** The sample AdmissionReview for a new spot executor (or the driver), a fresh copy. */
export function review(which: 'executor' | 'driver' = 'executor', name?: string): Review {
  const body = loadEvent(`spot-fallback/data/admission-review-${which}`) as Review;
  if (name) body.request.object.metadata.name = name;
  return body;
}
