import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { CoreV1Api, CustomObjectsApi, KubeConfig, NetworkingV1Api, User } from '@kubernetes/client-node';
import type { Config } from '../config.js';
import { ConfigError } from '../errors.js';
import { loadKubeClient } from './load-client.js';

/** The settings that decide how sparkfn reaches a cluster. */
export type K8sConfig = Pick<
  Config,
  'SPARKFN_K8S_URL' | 'SPARKFN_K8S_TOKEN' | 'SPARKFN_K8S_TOKEN_FILE' | 'SPARKFN_K8S_CA_FILE' | 'SPARKFN_K8S_INSECURE' | 'KUBECONFIG'
>;

/** Where to look besides the configuration; overridable so tests need not touch the real home or /var/run. */
export interface KubeConfigSources {
  /** Directory holding `.kube/config`; defaults to the user's home. */
  homeDir?: string;
  /** Prepended to /var/run/secrets/kubernetes.io/serviceaccount/… (client-node's loadFromCluster pathPrefix). */
  serviceAccountPathPrefix?: string;
}

const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';
/** Projected service-account tokens rotate; client-go re-reads token files at this interval too. */
const TOKEN_FILE_REFRESH_MS = 60_000;
const TOKEN_FILE_PROVIDER = 'sparkfn-token-file';

type Authenticator = Parameters<KubeConfig['addAuthenticator']>[0];

/**
 * Reads a bearer token from a file, trimmed and re-read every minute. client-node's own
 * tokenFile provider sends the file verbatim, and a token file ending in a newline makes every
 * request fail with "Invalid character in header content".
 */
function trimmedTokenFileAuthenticator(): Authenticator {
  let cached: { token: string; readAt: number } | undefined;
  return {
    isAuthProvider: (user: User) => user.authProvider?.name === TOKEN_FILE_PROVIDER,
    async applyAuthentication(user: User, opts) {
      const file = user.authProvider.config.path as string;
      if (!cached || Date.now() - cached.readAt > TOKEN_FILE_REFRESH_MS) {
        cached = { token: readFileSync(file, 'utf8').trim(), readAt: Date.now() };
      }
      const o = opts as { headers?: Record<string, unknown> };
      o.headers = { ...(o.headers ?? {}), Authorization: `Bearer ${cached.token}` };
    },
  };
}

async function fromExplicitSettings(config: K8sConfig): Promise<KubeConfig> {
  const url = config.SPARKFN_K8S_URL!;
  if (config.SPARKFN_K8S_TOKEN && config.SPARKFN_K8S_TOKEN_FILE) {
    throw new ConfigError('Invalid configuration: set only one of SPARKFN_K8S_TOKEN and SPARKFN_K8S_TOKEN_FILE.', [
      { variable: 'SPARKFN_K8S_TOKEN_FILE', message: 'unset SPARKFN_K8S_TOKEN_FILE or SPARKFN_K8S_TOKEN' },
    ]);
  }
  for (const variable of ['SPARKFN_K8S_TOKEN_FILE', 'SPARKFN_K8S_CA_FILE'] as const) {
    const file = config[variable];
    if (file && !existsSync(file)) {
      throw new ConfigError(`Invalid configuration: ${variable} names ${file}, which does not exist.`, [
        { variable, message: `point ${variable} at a readable file` },
      ]);
    }
  }
  const k8s = await loadKubeClient();
  const kc = new k8s.KubeConfig();
  kc.addAuthenticator(trimmedTokenFileAuthenticator());
  const plainHttp = url.startsWith('http://');
  let user: User = { name: 'sparkfn' };
  if (config.SPARKFN_K8S_TOKEN) user = { name: 'sparkfn', token: config.SPARKFN_K8S_TOKEN.trim() };
  else if (config.SPARKFN_K8S_TOKEN_FILE) user = { name: 'sparkfn', authProvider: { name: TOKEN_FILE_PROVIDER, config: { path: config.SPARKFN_K8S_TOKEN_FILE } } };
  kc.loadFromClusterAndUser(
    {
      name: 'sparkfn',
      server: url.replace(/\/+$/, ''),
      // client-node 1.x refuses http:// unless skipTLSVerify is set (there is no TLS to verify).
      skipTLSVerify: plainHttp || config.SPARKFN_K8S_INSECURE,
      ...(config.SPARKFN_K8S_CA_FILE ? { caFile: config.SPARKFN_K8S_CA_FILE } : {}),
    },
    user,
  );
  return kc;
}

async function fromKubeconfigFiles(files: string[]): Promise<KubeConfig> {
  const k8s = await loadKubeClient();
  const kc = new k8s.KubeConfig();
  const [first, ...rest] = files;
  kc.loadFromFile(first!);
  for (const file of rest) {
    const more = new k8s.KubeConfig();
    more.loadFromFile(file);
    // kubectl: the first file that sets current-context wins.
    kc.mergeConfig(more, Boolean(kc.getCurrentContext()));
  }
  return kc;
}

/**
 * Builds a client-node KubeConfig from sparkfn's configuration, in this order:
 * SPARKFN_K8S_URL with SPARKFN_K8S_TOKEN or SPARKFN_K8S_TOKEN_FILE (plus SPARKFN_K8S_CA_FILE,
 * SPARKFN_K8S_INSECURE); else the KUBECONFIG files; else `~/.kube/config`; else the in-cluster
 * service account. Undefined when none of these exists (run without a cluster).
 * Rejects with ConfigError when a named file is missing. Loads client-node only when there is a
 * cluster to reach.
 * @example
 * const kc = await kubeConfigFromConfig(loadConfig());
 * if (kc) await (await createKubeClients(kc)).core.listNamespacedPod({ namespace: 'spark' });
 */
export async function kubeConfigFromConfig(config: K8sConfig, sources: KubeConfigSources = {}): Promise<KubeConfig | undefined> {
  if (config.SPARKFN_K8S_URL) return fromExplicitSettings(config);
  if (config.SPARKFN_K8S_TOKEN || config.SPARKFN_K8S_TOKEN_FILE || config.SPARKFN_K8S_CA_FILE) {
    throw new ConfigError('Invalid configuration: SPARKFN_K8S_TOKEN, SPARKFN_K8S_TOKEN_FILE and SPARKFN_K8S_CA_FILE need SPARKFN_K8S_URL.', [
      { variable: 'SPARKFN_K8S_URL', message: 'set SPARKFN_K8S_URL to the apiserver URL, e.g. https://10.0.0.1:6443' },
    ]);
  }
  if (config.KUBECONFIG) {
    const files = config.KUBECONFIG.split(delimiter).filter(Boolean);
    const missing = files.filter((f) => !existsSync(f));
    if (files.length === 0 || missing.length > 0) {
      throw new ConfigError(`Invalid configuration: KUBECONFIG names ${missing.join(', ') || 'no file'}, which does not exist.`, [
        { variable: 'KUBECONFIG', message: 'point KUBECONFIG at kubeconfig files separated by ' + JSON.stringify(delimiter) },
      ]);
    }
    return fromKubeconfigFiles(files);
  }
  const defaultFile = join(sources.homeDir ?? homedir(), '.kube', 'config');
  if (existsSync(defaultFile)) return fromKubeconfigFiles([defaultFile]);
  const prefix = sources.serviceAccountPathPrefix ?? '';
  if (existsSync(`${prefix}${SERVICE_ACCOUNT_TOKEN}`)) {
    const k8s = await loadKubeClient();
    const kc = new k8s.KubeConfig();
    kc.loadFromCluster(prefix);
    // loadFromCluster reads KUBERNETES_SERVICE_HOST/PORT itself; without them this is no cluster.
    const server = kc.getCurrentCluster()?.server ?? '';
    if (!server.includes('undefined')) return kc;
  }
  return undefined;
}

/** The typed APIs sparkfn uses. */
export interface KubeClients {
  kubeConfig: KubeConfig;
  core: CoreV1Api;
  networking: NetworkingV1Api;
  custom: CustomObjectsApi;
}

/** Typed API clients sharing one KubeConfig. */
export async function createKubeClients(kubeConfig: KubeConfig): Promise<KubeClients> {
  const k8s = await loadKubeClient();
  return {
    kubeConfig,
    core: kubeConfig.makeApiClient(k8s.CoreV1Api),
    networking: kubeConfig.makeApiClient(k8s.NetworkingV1Api),
    custom: kubeConfig.makeApiClient(k8s.CustomObjectsApi),
  };
}
