import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { get } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PROBE_CLAIMS_PREFIX, putSignal } from '../../functions/spot-fallback/facts.js';
import { spotSettingsFromConfig } from '../../functions/spot-fallback/settings.js';
import { startServe } from '../../app/cli/serve.js';
import { loadConfig } from '../../shared/config.js';
import { ConfigError } from '../../shared/errors.js';
import { startPartProbes } from '../../shared/health/part-probes.js';
import { Readiness } from '../../shared/health/readiness.js';
import { silentLogger } from '../../shared/logger.js';
import { Metrics } from '../../shared/metrics.js';
import { FileObjectStore } from '../../shared/store/fs-store.js';
import { listAll } from '../../shared/store/read.js';
import { selfSignedCertificate } from '../support/apiserver/tls.js';
import { clientCertificates, type ClientCertificates } from '../support/client-certificates.js';
import { baseDeps, patched, postAdmission, review, startTlsServe, tempStore, testSettings, type TlsServe } from './harness.js';

const APISERVER_NAME = 'kube-apiserver-webhook-client';
const SPECS = ['ecs.c6.xlarge', 'ecs.g6.xlarge'];
/** Bound on polling /readyz for the first probe round (it runs at start). */
const READY_POLLS = 100;

let certs: ClientCertificates;
let otherName: ClientCertificates;
beforeAll(async () => {
  [certs, otherName] = await Promise.all([clientCertificates(APISERVER_NAME), clientCertificates('some-other-client')]);
});

function getJson(url: string, ca: string): Promise<{ status: number; body: { status?: string; components?: Record<string, { up: boolean; reason?: string }> } }> {
  return new Promise((resolve, reject) => {
    get(url, { ca }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as never }));
    }).on('error', reject);
  });
}

describe('spot-fallback admission authenticated by client certificate (SPARKFN_ADMISSION_CLIENT_CA_FILE, issue #14)', () => {
  let temp: Awaited<ReturnType<typeof tempStore>>;
  let deps: ReturnType<typeof baseDeps>;
  let server: TlsServe | undefined;

  beforeEach(async () => {
    temp = await tempStore();
    deps = baseDeps(temp.store);
    // Half-open breakers everywhere: an answered review takes a probe slot, so a refused one must leave no claim.
    for (const zone of ['cn-hangzhou-h', 'cn-hangzhou-i']) {
      await putSignal(temp.store, { kind: 'stock-out', reason: 'NoStock', pod: `uid-${zone}`, at: deps.clock.now(), capacity: 'spot', breakers: SPECS.map((spec) => `${zone}/${spec}`) });
    }
    deps.clock.advance(testSettings().openTtlMs);
  });
  afterEach(async () => {
    await server?.close();
    server = undefined;
    await temp.dispose();
  });

  const claims = async () => {
    const keys: string[] = [];
    for await (const o of listAll(temp.store, PROBE_CLAIMS_PREFIX)) keys.push(o.key);
    return keys;
  };
  const post = (name: string, client?: { cert: string; key: string }, headers: Record<string, string> = {}) =>
    postAdmission(server!.serve.url, server!.ca, review('executor', name), undefined, headers, client);

  it('answers 401 without a certificate and with one from another CA, and reviews with the right one', async () => {
    server = await startTlsServe(deps, testSettings({ admissionClientCertificate: { names: [] } }), null, certs.ca);
    const none = await post('no-cert-exec');
    expect(none.status).toBe(401);
    expect(JSON.stringify(none.review)).toContain('no client certificate');
    const stranger = await post('stranger-exec', certs.stranger);
    expect(stranger.status).toBe(401);
    expect(JSON.stringify(stranger.review)).toContain('not from the configured client CA');
    expect(await claims()).toEqual([]);

    const body = review('executor', 'real-exec');
    const real = await postAdmission(server.serve.url, server.ca, body, undefined, {}, certs.client);
    expect(real.status).toBe(200);
    expect(real.review.response).toMatchObject({ uid: body.request.uid, allowed: true });
    expect(patched(body.request.object, real.patch).metadata.annotations['sparkfn.io/spot-probe']).toBeDefined();
  });

  it('with SPARKFN_ADMISSION_CLIENT_NAMES takes only a certificate that names one of them', async () => {
    server = await startTlsServe(deps, testSettings({ admissionClientCertificate: { names: [APISERVER_NAME] } }), null, `${certs.ca}${otherName.ca}`);
    const wrongName = await post('other-name-exec', otherName.client);
    expect(wrongName.status).toBe(401);
    expect(JSON.stringify(wrongName.review)).toContain('some-other-client');
    expect(await claims()).toEqual([]);
    expect((await post('real-exec', certs.client)).status).toBe(200);
  });

  it('with a token too, wants both', async () => {
    const token = 'admission-token-0123456789';
    server = await startTlsServe(deps, testSettings({ admissionToken: token, admissionClientCertificate: { names: [] } }), null, certs.ca);
    expect((await post('cert-only', certs.client)).status).toBe(401);
    expect((await post('token-only', undefined, { authorization: `Bearer ${token}` })).status).toBe(401);
    expect((await post('both', certs.client, { authorization: `Bearer ${token}` })).status).toBe(200);
  });

  it('leaves the other routes open to clients without a certificate, and shows the client CA under tls in /readyz', async () => {
    server = await startTlsServe(deps, testSettings({ admissionClientCertificate: { names: [] } }), null, certs.ca);
    expect((await getJson(`${server.serve.url}/healthz`, server.ca)).status).toBe(200);
    let ready = await getJson(`${server.serve.url}/readyz`, server.ca);
    for (let i = 0; i < READY_POLLS && ready.body.components?.['tls']?.up !== true; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      ready = await getJson(`${server.serve.url}/readyz`, server.ca);
    }
    expect(ready.body.components?.['tls']).toMatchObject({ up: true });
  });
});

describe('client CA configuration', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sparkfn-client-ca-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('turns the admission check on from the config, names included', () => {
    const config = loadConfig({ SPARKFN_TLS_CERT_FILE: '/tls/tls.crt', SPARKFN_TLS_KEY_FILE: '/tls/tls.key', SPARKFN_ADMISSION_CLIENT_CA_FILE: '/tls/client-ca.crt', SPARKFN_ADMISSION_CLIENT_NAMES: 'a, b' });
    expect(spotSettingsFromConfig(config).admissionClientCertificate).toEqual({ names: ['a', 'b'] });
    expect(spotSettingsFromConfig(loadConfig({})).admissionClientCertificate).toBeUndefined();
  });

  it('refuses a client CA without HTTPS, and names without a client CA', () => {
    expect(() => loadConfig({ SPARKFN_ADMISSION_CLIENT_CA_FILE: '/tls/client-ca.crt' })).toThrow(/SPARKFN_ADMISSION_CLIENT_CA_FILE needs HTTPS/);
    expect(() => loadConfig({ SPARKFN_ADMISSION_CLIENT_NAMES: 'kube-apiserver' })).toThrow(/set SPARKFN_ADMISSION_CLIENT_CA_FILE too/);
  });

  it('refuses to start when the client CA file holds no certificate, or cannot be read', async () => {
    const certificate = await selfSignedCertificate();
    await writeFile(join(dir, 'tls.crt'), certificate.cert);
    await writeFile(join(dir, 'tls.key'), certificate.key);
    await writeFile(join(dir, 'client-ca.crt'), certificate.key);
    const env = { SPARKFN_STORE: `file://${dir}/store`, SPARKFN_TLS_CERT_FILE: join(dir, 'tls.crt'), SPARKFN_TLS_KEY_FILE: join(dir, 'tls.key'), SPARKFN_LOG_LEVEL: 'silent' };
    const start = (caFile: string) => {
      const config = loadConfig({ ...env, SPARKFN_ADMISSION_CLIENT_CA_FILE: caFile });
      return startServe({ config, functions: [], port: 0, host: '127.0.0.1', deps: baseDeps(new FileObjectStore(join(dir, 'store'))) });
    };
    await expect(start(join(dir, 'client-ca.crt'))).rejects.toThrow(ConfigError);
    await expect(start(join(dir, 'client-ca.crt'))).rejects.toThrow(/holds no PEM certificate/);
    await expect(start(join(dir, 'missing.crt'))).rejects.toThrow(/SPARKFN_ADMISSION_CLIENT_CA_FILE .* cannot be read/);
  });

  it('reports tls down when the client CA bundle holds no usable certificate', async () => {
    const readiness = new Readiness({ logger: silentLogger, metrics: new Metrics(), exitAfterSeconds: 3600 });
    const { store, dispose } = await tempStore();
    const stop = new AbortController();
    try {
      const certificate = await selfSignedCertificate();
      startPartProbes({ readiness, store, tlsCert: certificate.cert, clientCa: '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n', signal: stop.signal });
      for (let i = 0; i < READY_POLLS && readiness.snapshot()['tls']?.reason === 'starting'; i++) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(readiness.snapshot()['tls']).toMatchObject({ up: false, reason: 'the client CA file holds no certificate' });
    } finally {
      stop.abort();
      readiness.close();
      await dispose();
    }
  });
});
