import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MutatingWebhookConfiguration } from 'kubernetes-models/admissionregistration.k8s.io/v1/MutatingWebhookConfiguration';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { ClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import { ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import { Role } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import { RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES, loadConfig } from '../../shared/config.js';
import { SHUTDOWN_GRACE_MS } from '../../shared/http/server.js';

const DEPLOY_DIR = fileURLToPath(new URL('../../deploy/', import.meta.url));

/** Every Kubernetes kind deploy/ may hold, with the kubernetes-models class that validates it. */
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'v1/Namespace': Namespace,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'v1/ServiceAccount': ServiceAccount,
  'apps/v1/Deployment': Deployment,
  'rbac.authorization.k8s.io/v1/ClusterRole': ClusterRole,
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': ClusterRoleBinding,
  'rbac.authorization.k8s.io/v1/Role': Role,
  'rbac.authorization.k8s.io/v1/RoleBinding': RoleBinding,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'admissionregistration.k8s.io/v1/MutatingWebhookConfiguration': MutatingWebhookConfiguration,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
};

/** YAML in deploy/ that is not a Kubernetes object, by file: checked on its own below. */
const NOT_OBJECTS: Record<string, string> = {
  'kustomization.yaml': 'kustomize.config.k8s.io/v1beta1/Kustomization',
  'prices.example.yaml': 'job-cost price file',
};

interface Manifest {
  file: string;
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string };
  [key: string]: unknown;
}

/**
 * Optional kustomizations of their own, applied separately, with custom resources kubernetes-models
 * has no model for: monitoring/ (Prometheus Operator) is checked by test/spark-monitor/prometheus-rules.test.ts.
 */
const SEPARATE_KUSTOMIZATIONS = ['monitoring'];

function yamlFiles(dir: string): string[] {
  return readdirSync(dir)
    .flatMap((name) => {
      const path = join(dir, name);
      if (dir === DEPLOY_DIR && SEPARATE_KUSTOMIZATIONS.includes(name)) return [];
      if (statSync(path).isDirectory()) return yamlFiles(path);
      return /\.ya?ml$/.test(name) ? [path] : [];
    })
    .sort();
}

function documents(path: string): Manifest[] {
  return parseAllDocuments(readFileSync(path, 'utf8')).map((doc) => {
    expect(doc.errors, `${path}: YAML errors`).toEqual([]);
    return { ...(doc.toJS() as object), file: relative(DEPLOY_DIR, path) } as Manifest;
  });
}

const files = yamlFiles(DEPLOY_DIR);
const objects = files.filter((f) => !(relative(DEPLOY_DIR, f) in NOT_OBJECTS)).flatMap(documents);
const byKind = (kind: string) => objects.filter((o) => o.kind === kind);

describe('deploy/ manifests', () => {
  it('finds every file it expects', () => {
    expect(files.map((f) => relative(DEPLOY_DIR, f))).toEqual(
      expect.arrayContaining(['config.yaml', 'deployment.yaml', 'janitor-config.yaml', 'kube-eventer-webhook-template.yaml', 'kustomization.yaml', 'namespace.yaml', 'rbac.yaml', 'spot-fallback/webhook.yaml', 'spot-fallback/network-policy.yaml']),
    );
  });

  it.each(objects.map((o) => [`${o.file}: ${o.kind} ${o.metadata?.name}`, o] as const))('%s validates against the Kubernetes schema', (_name, manifest) => {
    const { file: _file, ...object } = manifest;
    const Model = MODELS[`${object.apiVersion}/${object.kind}`];
    expect(Model, `no schema for ${object.apiVersion}/${object.kind}: add it to MODELS`).toBeDefined();
    expect(() => new Model!(object as never).validate()).not.toThrow();
  });

  it('rejects what the schema forbids, so the check above can fail', () => {
    const deployment = byKind('Deployment')[0]!;
    const { file: _file, ...object } = structuredClone(deployment);
    (object as { spec: { replicas: unknown } }).spec.replicas = 'one';
    expect(() => new Deployment(object as never).validate()).toThrow();
  });

  it('the kustomization lists every manifest file, and they exist', () => {
    const [kustomization] = documents(join(DEPLOY_DIR, 'kustomization.yaml')) as (Manifest & { resources: string[]; configMapGenerator: { files: string[] }[] })[];
    expect(`${kustomization!.apiVersion}/${kustomization!.kind}`).toBe(NOT_OBJECTS['kustomization.yaml']);
    const manifestFiles = [...new Set(objects.map((o) => o.file))].sort();
    expect([...kustomization!.resources].sort()).toEqual(manifestFiles);
    for (const generator of kustomization!.configMapGenerator) for (const entry of generator.files) expect(statSync(join(DEPLOY_DIR, entry.split('=').pop()!)).isFile()).toBe(true);
  });

  it('ties together: the Deployment runs as the bound service account, the Service and webhook reach its port, and the ConfigMaps it reads exist', () => {
    const [deployment] = byKind('Deployment') as (Manifest & { spec: { template: { metadata: { labels: Record<string, string> }; spec: unknown } } })[];
    const pod = deployment!.spec.template.spec as {
      serviceAccountName: string;
      containers: { ports: { containerPort: number }[]; envFrom: { configMapRef?: { name: string }; secretRef?: { name: string } }[] }[];
    };
    const [binding] = byKind('ClusterRoleBinding') as (Manifest & { roleRef: { name: string }; subjects: { name: string; namespace: string }[] })[];
    expect(byKind('ClusterRoleBinding')).toHaveLength(1);
    expect(binding!.subjects).toEqual([expect.objectContaining({ kind: 'ServiceAccount', name: pod.serviceAccountName, namespace: deployment!.metadata!.namespace })]);
    expect(byKind('ClusterRole').map((r) => r.metadata!.name)).toEqual([binding!.roleRef.name]);
    expect(byKind('ServiceAccount').map((s) => `${s.metadata!.namespace}/${s.metadata!.name}`)).toEqual([`${deployment!.metadata!.namespace}/${pod.serviceAccountName}`]);

    const [service] = byKind('Service') as (Manifest & { spec: { selector: Record<string, string>; ports: { port: number; targetPort: number }[] } })[];
    expect(deployment!.spec.template.metadata.labels).toMatchObject(service!.spec.selector);
    expect(pod.containers[0]!.ports.map((p) => p.containerPort)).toContain(service!.spec.ports[0]!.targetPort);
    const [webhook] = byKind('MutatingWebhookConfiguration') as (Manifest & { webhooks: { clientConfig: { service: { name: string; namespace: string; port: number } } }[] })[];
    expect(webhook!.webhooks[0]!.clientConfig.service).toMatchObject({ name: service!.metadata!.name, namespace: service!.metadata!.namespace, port: service!.spec.ports[0]!.port });

    const names = (kind: string) => byKind(kind).map((o) => o.metadata!.name);
    for (const from of pod.containers[0]!.envFrom) {
      if (from.configMapRef) expect(names('ConfigMap')).toContain(from.configMapRef.name);
      if (from.secretRef) expect(names('Secret')).toContain(from.secretRef.name);
    }
  });

  it('runs highly available: 2 replicas, a PDB over them, spread across nodes and zones, a rolling update that keeps one ready, and the Lease RBAC bound to its account', () => {
    const [deployment] = byKind('Deployment') as (Manifest & {
      spec: {
        replicas: number;
        strategy: { type: string; rollingUpdate: { maxUnavailable: number; maxSurge: number } };
        selector: { matchLabels: Record<string, string> };
        template: {
          metadata: { labels: Record<string, string> };
          spec: {
            serviceAccountName: string;
            terminationGracePeriodSeconds: number;
            topologySpreadConstraints: { topologyKey: string; labelSelector: { matchLabels: Record<string, string> } }[];
            containers: { env: { name: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[]; readinessProbe: { httpGet: { path: string } } }[];
          };
        };
      };
    })[];
    const { spec } = deployment!;
    expect(spec.replicas).toBeGreaterThanOrEqual(2);
    expect(spec.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
    const [pdb] = byKind('PodDisruptionBudget') as (Manifest & { spec: { minAvailable: number; selector: { matchLabels: Record<string, string> } } })[];
    expect(pdb!.metadata!.namespace).toBe(deployment!.metadata!.namespace);
    expect(spec.template.metadata.labels).toMatchObject(pdb!.spec.selector.matchLabels);
    expect(pdb!.spec.minAvailable).toBeLessThan(spec.replicas);
    const pod = spec.template.spec;
    expect(pod.topologySpreadConstraints.map((c) => c.topologyKey).sort()).toEqual(['kubernetes.io/hostname', 'topology.kubernetes.io/zone']);
    for (const c of pod.topologySpreadConstraints) expect(spec.template.metadata.labels).toMatchObject(c.labelSelector.matchLabels);
    // Singleton work stops within the renew deadline (10 s) before the Kafka batch and HTTP drain.
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(30);
    expect(pod.containers[0]!.readinessProbe.httpGet.path).toBe('/readyz');
    const leaseNs = pod.containers[0]!.env.find((e) => e.name === 'SPARKFN_LEASE_NAMESPACE');
    expect(leaseNs?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.namespace');
    // The drain after SIGTERM (endpoints propagate while HTTP is still served) fits in the grace period with the rest.
    const drain = loadConfig({ SPARKFN_SHUTDOWN_DELAY_MS: (pod.containers[0]!.env.find((e) => e.name === 'SPARKFN_SHUTDOWN_DELAY_MS') as { value?: string } | undefined)?.value ?? '' });
    expect(drain.SPARKFN_SHUTDOWN_DELAY_MS).toBeGreaterThanOrEqual(3_000);
    expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThanOrEqual(drain.SPARKFN_SHUTDOWN_DELAY_MS + drain.SPARKFN_LEASE_RENEW_DEADLINE_MS + SHUTDOWN_GRACE_MS);

    const [role] = byKind('Role') as (Manifest & { rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[] })[];
    expect(role!.metadata!.namespace).toBe(deployment!.metadata!.namespace);
    expect(role!.rules).toEqual([{ apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'list', 'watch', 'create', 'update'] }]);
    const [binding] = byKind('RoleBinding') as (Manifest & { roleRef: { kind: string; name: string }; subjects: { kind: string; name: string; namespace: string }[] })[];
    expect(binding!.roleRef).toMatchObject({ kind: 'Role', name: role!.metadata!.name });
    expect(binding!.subjects).toEqual([{ kind: 'ServiceAccount', name: pod.serviceAccountName, namespace: deployment!.metadata!.namespace }]);
  });

  it('the NetworkPolicy selects the sparkfn pods and lets in only the port the Service targets', () => {
    const [policy] = byKind('NetworkPolicy') as (Manifest & { spec: { podSelector: { matchLabels: Record<string, string> }; policyTypes: string[]; ingress: { ports: { port: number }[] }[] } })[];
    const [deployment] = byKind('Deployment') as (Manifest & { spec: { template: { metadata: { labels: Record<string, string> } } } })[];
    const [service] = byKind('Service') as (Manifest & { spec: { ports: { targetPort: number }[] } })[];
    expect(policy!.metadata!.namespace).toBe(deployment!.metadata!.namespace);
    expect(deployment!.spec.template.metadata.labels).toMatchObject(policy!.spec.podSelector.matchLabels);
    expect(policy!.spec.policyTypes).toEqual(['Ingress']);
    expect(new Set(policy!.spec.ingress.flatMap((rule) => rule.ports.map((p) => p.port)))).toEqual(new Set([service!.spec.ports[0]!.targetPort]));
  });

  it('sets only variables sparkfn reads, and together they load as a valid configuration listening where the Service points', () => {
    const env: Record<string, string> = {};
    for (const o of [...byKind('ConfigMap'), ...byKind('Secret')].filter((o) => o.metadata?.namespace === 'sparkfn')) {
      Object.assign(env, (o as { data?: Record<string, string> }).data ?? {}, (o as { stringData?: Record<string, string> }).stringData ?? {});
    }
    expect(Object.keys(env).filter((k) => !(CONFIG_VARIABLES as string[]).includes(k))).toEqual([]);
    const config = loadConfig(env);
    const [service] = byKind('Service') as (Manifest & { spec: { ports: { targetPort: number }[] } })[];
    expect(config.SPARKFN_PORT).toBe(service!.spec.ports[0]!.targetPort);
    expect(config.SPARKFN_JANITOR_DRY_RUN).toBe(true);
  });
});
