import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../shared/config.js';
import { ConfigError } from '../../shared/errors.js';
import { createKubeClients, kubeConfigFromConfig } from '../../shared/k8s/client.js';
import { startTestApiserver, type TestApiserver } from '../support/apiserver/index.js';

describe('kubeConfigFromConfig', () => {
  let plain: TestApiserver;
  let secure: TestApiserver;
  let dir: string;
  const nowhere = () => ({ homeDir: join(dir, 'empty-home'), serviceAccountPathPrefix: join(dir, 'no-sa') });

  beforeAll(async () => {
    [plain, secure] = await Promise.all([startTestApiserver(), startTestApiserver({ tls: true })]);
    dir = await mkdtemp(join(tmpdir(), 'sparkfn-k8s-client-'));
  });
  afterAll(async () => {
    await Promise.all([plain.stop(), secure.stop()]);
    await rm(dir, { recursive: true, force: true });
  });

  async function reaches(kc: KubeConfig | undefined, server: TestApiserver): Promise<void> {
    expect(kc).toBeDefined();
    server.resetCalls();
    await (await createKubeClients(kc!)).core.listNamespacedPod({ namespace: 'probe' });
    expect(server.calls).toEqual([expect.objectContaining({ verb: 'list', resource: 'pods', user: 'admin', code: 200 })]);
  }

  it('uses SPARKFN_K8S_URL with SPARKFN_K8S_TOKEN over plain http', async () => {
    await reaches(await kubeConfigFromConfig(loadConfig({ SPARKFN_K8S_URL: plain.url, SPARKFN_K8S_TOKEN: plain.token }), nowhere()), plain);
  });

  it('reads SPARKFN_K8S_TOKEN_FILE, tolerating the trailing newline client-node would send verbatim', async () => {
    const tokenFile = join(dir, 'token');
    await writeFile(tokenFile, `${plain.token}\n`);
    await reaches(await kubeConfigFromConfig(loadConfig({ SPARKFN_K8S_URL: plain.url, SPARKFN_K8S_TOKEN_FILE: tokenFile }), nowhere()), plain);
  });

  it('verifies TLS against SPARKFN_K8S_CA_FILE, or skips verification with SPARKFN_K8S_INSECURE', async () => {
    const caFile = join(dir, 'ca.crt');
    await writeFile(caFile, secure.caCert!);
    await reaches(await kubeConfigFromConfig(loadConfig({ SPARKFN_K8S_URL: secure.url, SPARKFN_K8S_TOKEN: secure.token, SPARKFN_K8S_CA_FILE: caFile }), nowhere()), secure);
    await reaches(await kubeConfigFromConfig(loadConfig({ SPARKFN_K8S_URL: secure.url, SPARKFN_K8S_TOKEN: secure.token, SPARKFN_K8S_INSECURE: 'true' }), nowhere()), secure);
    const unverified = (await kubeConfigFromConfig(loadConfig({ SPARKFN_K8S_URL: secure.url, SPARKFN_K8S_TOKEN: secure.token }), nowhere()))!;
    await expect((await createKubeClients(unverified)).core.listNamespacedPod({ namespace: 'probe' })).rejects.toThrow(/certificate/);
  });

  it('names the variable to fix when settings are inconsistent or files are missing', async () => {
    const attempt = async (env: Record<string, string>) => {
      try {
        await kubeConfigFromConfig(loadConfig(env), nowhere());
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as ConfigError).problems.map((p) => p.variable);
      }
      throw new Error('expected a ConfigError');
    };
    expect(await attempt({ SPARKFN_K8S_TOKEN: 'x' })).toEqual(['SPARKFN_K8S_URL']);
    expect(await attempt({ SPARKFN_K8S_URL: plain.url, SPARKFN_K8S_TOKEN_FILE: join(dir, 'missing') })).toEqual(['SPARKFN_K8S_TOKEN_FILE']);
    expect(await attempt({ SPARKFN_K8S_URL: plain.url, SPARKFN_K8S_TOKEN: 'x', SPARKFN_K8S_TOKEN_FILE: join(dir, 'token') })).toEqual(['SPARKFN_K8S_TOKEN_FILE']);
    expect(await attempt({ KUBECONFIG: join(dir, 'missing-kubeconfig') })).toEqual(['KUBECONFIG']);
  });

  it('falls back to KUBECONFIG, then ~/.kube/config', async () => {
    const kubeconfig = join(dir, 'kubeconfig.json');
    await writeFile(kubeconfig, plain.kubeConfig().exportConfig());
    await reaches(await kubeConfigFromConfig(loadConfig({ KUBECONFIG: kubeconfig }), nowhere()), plain);
    const home = join(dir, 'home');
    await mkdir(join(home, '.kube'), { recursive: true });
    await writeFile(join(home, '.kube', 'config'), secure.kubeConfig().exportConfig());
    await reaches(await kubeConfigFromConfig(loadConfig({}), { ...nowhere(), homeDir: home }), secure);
  });

  it('falls back to the in-cluster service account, and to nothing without one', async () => {
    const prefix = join(dir, 'pod-root');
    const saDir = join(prefix, 'var/run/secrets/kubernetes.io/serviceaccount');
    await mkdir(saDir, { recursive: true });
    await writeFile(join(saDir, 'token'), secure.token);
    await writeFile(join(saDir, 'ca.crt'), secure.caCert!);
    await writeFile(join(saDir, 'namespace'), 'spark');
    const saved = { host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT };
    try {
      // client-node's loadFromCluster reads these two itself, as inside a pod.
      process.env.KUBERNETES_SERVICE_HOST = '127.0.0.1';
      process.env.KUBERNETES_SERVICE_PORT = new URL(secure.url).port;
      const kc = await kubeConfigFromConfig(loadConfig({}), { ...nowhere(), serviceAccountPathPrefix: prefix });
      expect(kc?.getContextObject(kc.getCurrentContext())?.namespace).toBe('spark');
      await reaches(kc, secure);
      delete process.env.KUBERNETES_SERVICE_HOST;
      delete process.env.KUBERNETES_SERVICE_PORT;
      expect(await kubeConfigFromConfig(loadConfig({}), { ...nowhere(), serviceAccountPathPrefix: prefix })).toBeUndefined();
    } finally {
      for (const [key, value] of [['KUBERNETES_SERVICE_HOST', saved.host], ['KUBERNETES_SERVICE_PORT', saved.port]] as const) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
    expect(await kubeConfigFromConfig(loadConfig({}), nowhere())).toBeUndefined();
  });
});
