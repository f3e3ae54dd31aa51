import type { ResourceRegistry, ResourceType } from './resources.js';
import type { NonResourceRequest } from './routing.js';

/** The version this harness claims to be: the release the fixtures were captured from. */
export const SERVER_VERSION = {
  major: '1',
  minor: '32',
  gitVersion: 'v1.32.0',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2024-12-11T17:58:34Z',
  goVersion: 'go1.23.3',
  compiler: 'gc',
  platform: 'linux/amd64',
};

const VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

function apiResources(types: ResourceType[]): unknown[] {
  const out: unknown[] = [];
  for (const t of types) {
    out.push({
      name: t.resource,
      singularName: t.singular,
      namespaced: t.namespaced,
      kind: t.kind,
      verbs: VERBS,
      ...(t.shortNames.length > 0 ? { shortNames: t.shortNames } : {}),
    });
    if (t.statusSubresource) {
      out.push({ name: `${t.resource}/status`, singularName: '', namespaced: t.namespaced, kind: t.kind, verbs: ['get', 'patch', 'update'] });
    }
  }
  return out;
}

/** Answers discovery, /version and the health endpoints; undefined for any other path. */
export function discovery(request: NonResourceRequest, registry: ResourceRegistry, serverAddress: string): unknown | undefined {
  const s = request.segments;
  const path = `/${s.join('/')}`;
  if (path === '/version') return SERVER_VERSION;
  if (path === '/healthz' || path === '/livez' || path === '/readyz') return 'ok';
  if (path === '/api') {
    return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
  }
  if (path === '/api/v1') {
    return { kind: 'APIResourceList', groupVersion: 'v1', resources: apiResources(registry.types.filter((t) => t.group === '')) };
  }
  const groupEntry = (group: string, version: string) => ({
    name: group,
    versions: [{ groupVersion: `${group}/${version}`, version }],
    preferredVersion: { groupVersion: `${group}/${version}`, version },
  });
  if (path === '/apis') {
    return { kind: 'APIGroupList', apiVersion: 'v1', groups: registry.groups().map((g) => groupEntry(g.group, g.version)) };
  }
  const group = registry.groups().find((g) => g.group === s[1]);
  if (s[0] === 'apis' && group && s.length === 2) return { kind: 'APIGroup', apiVersion: 'v1', ...groupEntry(group.group, group.version) };
  if (s[0] === 'apis' && group && s.length === 3 && s[2] === group.version) {
    return {
      kind: 'APIResourceList',
      apiVersion: 'v1',
      groupVersion: `${group.group}/${group.version}`,
      resources: apiResources(registry.types.filter((t) => t.group === group.group)),
    };
  }
  return undefined;
}
