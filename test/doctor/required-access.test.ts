import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { accessResourceName, REQUIRED_ACCESS } from '../../shared/k8s/required-access.js';

describe('REQUIRED_ACCESS', () => {
  it('lists each (verb, group, resource, subresource) once', () => {
    const keys = REQUIRED_ACCESS.map((a) => `${a.verb} ${accessResourceName(a)}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it.each([
    ['create', 'pods/eviction', ['spot-fallback']],
    ['deletecollection', 'ingresses.networking.k8s.io', ['janitor']],
    ['watch', 'pods', ['spot-fallback', 'job-cost', 'log-archiver', 'spark-monitor']],
    ['patch', 'sparkapplications.sparkoperator.k8s.io', ['quota-retry']],
    ['list', 'resourcequotas', ['quota-retry', 'spark-monitor']],
  ])('needs %s %s for %j', (verb, resource, usedBy) => {
    const found = REQUIRED_ACCESS.find((a) => a.verb === verb && accessResourceName(a) === resource);
    expect(found?.usedBy).toEqual(usedBy);
  });

  it('is exactly what the self-hosted ClusterRole in deploy/rbac.yaml grants', () => {
    const docs = parseAllDocuments(readFileSync(new URL('../../deploy/rbac.yaml', import.meta.url), 'utf8')).map((d) => d.toJSON());
    const role = docs.find((d) => d?.kind === 'ClusterRole') as { rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[] };
    const granted = new Set<string>();
    for (const rule of role.rules) {
      for (const group of rule.apiGroups) {
        for (const resource of rule.resources) {
          const [plural, sub] = resource.split('/');
          for (const verb of rule.verbs) granted.add(`${verb} ${accessResourceName({ group, resource: plural!, ...(sub ? { subresource: sub } : {}) })}`);
        }
      }
    }
    const needed = new Set(REQUIRED_ACCESS.map((a) => `${a.verb} ${accessResourceName(a)}`));
    expect([...granted].sort()).toEqual([...needed].sort());
  });
});
