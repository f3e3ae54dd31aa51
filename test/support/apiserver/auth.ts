import type { ApiVerb } from './routing.js';
import { forbidden, type StatusError } from './status.js';

/**
 * An RBAC PolicyRule (rbac.authorization.k8s.io/v1), plus the namespaces it is bound in: a Role
 * bound by a RoleBinding gives `namespaces: ['ns']`; a ClusterRole bound cluster-wide leaves it out.
 */
export interface PolicyRule {
  verbs: string[];
  apiGroups: string[];
  /** Plurals, or `pods/status` for a subresource, or `*`. */
  resources: string[];
  resourceNames?: string[];
  namespaces?: string[];
}

/** A bearer token's user. `rules` undefined means everything is allowed (system:masters). */
export interface TestUser {
  name: string;
  rules?: PolicyRule[];
}

/** What an authorizer is asked about one request. */
export interface AuthorizationAttributes {
  verb: ApiVerb;
  /** `''` for the core group. */
  group: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}

function ruleAllows(rule: PolicyRule, a: AuthorizationAttributes): boolean {
  const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const anyOf = (list: string[], value: string) => list.includes('*') || list.includes(value);
  if (!anyOf(rule.verbs, a.verb)) return false;
  if (!anyOf(rule.apiGroups, a.group)) return false;
  if (!anyOf(rule.resources, resource)) return false;
  if (rule.resourceNames && rule.resourceNames.length > 0 && (!a.name || !rule.resourceNames.includes(a.name))) return false;
  if (rule.namespaces && (!a.namespace || !rule.namespaces.includes(a.namespace))) return false;
  return true;
}

/** Bearer tokens to users, and an RBAC-style check with kube-apiserver's 403 wording. */
export class Authenticator {
  private readonly users = new Map<string, TestUser>();

  addUser(token: string, user: TestUser): void {
    this.users.set(token, user);
  }

  /** The user behind an `Authorization: Bearer …` header, undefined when missing or unknown. */
  authenticate(header: string | undefined): TestUser | undefined {
    const m = /^Bearer\s+(.+)$/i.exec(header ?? '');
    return m ? this.users.get(m[1]!.trim()) : undefined;
  }

  /**
   * The rule that allows `a` (the first that matches), `'all'` for an unrestricted user, or
   * undefined when none does: what a SelfSubjectAccessReview reports. `verb` may be any string
   * there (`use`, `*`), as RBAC compares verbs as strings.
   */
  allowingRule(user: TestUser, a: Omit<AuthorizationAttributes, 'verb'> & { verb: string }): PolicyRule | 'all' | undefined {
    if (!user.rules) return 'all';
    return user.rules.find((r) => ruleAllows(r, a as AuthorizationAttributes));
  }

  /** Undefined when allowed; otherwise the 403 the RBAC authorizer's denial turns into. */
  authorize(user: TestUser, a: AuthorizationAttributes): StatusError | undefined {
    if (!user.rules || user.rules.some((r) => ruleAllows(r, a))) return undefined;
    const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
    const scope = a.namespace ? `in the namespace "${a.namespace}"` : 'at the cluster scope';
    const why = `User "${user.name}" cannot ${a.verb} resource "${resource}" in API group "${a.group}" ${scope}`;
    return forbidden({ group: a.group, resource: a.resource }, a.name, why);
  }
}
