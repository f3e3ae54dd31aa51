import type { Clock } from '../../../shared/clock.js';
import type { Authenticator, TestUser } from './auth.js';
import type { ResourceRequest } from './routing.js';
import { badRequest, invalid, methodNotAllowed, serverNotFound, unsupportedMediaType } from './status.js';
import { timestamp } from './strategy.js';

/** The group that serves SelfSubjectAccessReview (kubectl auth can-i). */
export const AUTHORIZATION_GROUP = 'authorization.k8s.io';
/** The group that serves SelfSubjectReview (kubectl auth whoami), GA in Kubernetes 1.28. */
export const AUTHENTICATION_GROUP = 'authentication.k8s.io';

/** authorizationv1.ResourceAttributes, fields in Go order (all omitempty). */
interface ResourceAttributes {
  namespace?: string;
  verb?: string;
  group?: string;
  version?: string;
  resource?: string;
  subresource?: string;
  name?: string;
}

/** A SelfSubjectAccessReview as a client sends it. */
interface AccessReviewBody {
  kind?: string;
  apiVersion?: string;
  metadata?: Record<string, unknown>;
  spec?: { resourceAttributes?: ResourceAttributes; nonResourceAttributes?: { path?: string; verb?: string } };
}

/** A user's groups as the authenticator reports them: unrestricted users stand for system:masters. */
export function userGroups(user: TestUser): string[] {
  return user.rules ? ['system:authenticated'] : ['system:masters', 'system:authenticated'];
}

function objectBody(body: Buffer, contentType: string | undefined, kind: string, apiVersion: string): Record<string, unknown> {
  const media = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (media !== 'application/json' && media !== '') throw unsupportedMediaType(media, ['application/json']);
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8') || '{}');
  } catch (err) {
    throw badRequest(`couldn't get version/kind; json parse error: ${(err as Error).message}`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw badRequest(`the object provided is unrecognized (must be of type ${kind})`);
  const object = parsed as { kind?: string; apiVersion?: string };
  if (object.kind !== undefined && object.kind !== kind) {
    throw badRequest(`${kind} in version "v1" cannot be handled as a ${kind}: no kind "${object.kind}" is registered for version "${apiVersion}"`);
  }
  return parsed as Record<string, unknown>;
}

function present<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== '')) as T;
}

/** The `reason` kube-apiserver's RBAC authorizer gives for an allowed request (rbac.go's authorizingVisitor). */
function allowedReason(user: TestUser, rule: NonNullable<ReturnType<Authenticator['allowingRule']>>, namespace: string | undefined): string {
  if (rule === 'all') return 'RBAC: allowed by ClusterRoleBinding "cluster-admin" of ClusterRole "cluster-admin" to Group "system:masters"';
  // The harness has no binding objects: a user's rules stand for one role bound to that user, named after it.
  if (rule.namespaces) return `RBAC: allowed by RoleBinding "${user.name}/${namespace}" of Role "${user.name}" to User "${user.name}"`;
  return `RBAC: allowed by ClusterRoleBinding "${user.name}" of ClusterRole "${user.name}" to User "${user.name}"`;
}

/**
 * The self-review resources every authenticated user may create (system:basic-user grants them to
 * system:authenticated): POST selfsubjectaccessreviews (authorization.k8s.io/v1), evaluated
 * against the user's RBAC rules, and POST selfsubjectreviews (authentication.k8s.io/v1).
 * Both answer 201 with the object and its `status`, are not stored, and refuse other verbs with 405.
 * Undefined for any other request.
 */
export function handleSelfReview(
  request: ResourceRequest,
  user: TestUser,
  body: Buffer,
  contentType: string | undefined,
  deps: { auth: Authenticator; clock: Clock; selfSubjectReview: boolean },
): { code: number; body: unknown } | undefined {
  const isAccessReview = request.group === AUTHORIZATION_GROUP && request.resource === 'selfsubjectaccessreviews';
  const isSelfReview = request.group === AUTHENTICATION_GROUP && request.resource === 'selfsubjectreviews';
  if (!isAccessReview && !isSelfReview) return undefined;
  // Before 1.28 (or with the API disabled) the path is simply not served.
  if (request.version !== 'v1' || (isSelfReview && !deps.selfSubjectReview)) throw serverNotFound();
  if (request.namespace !== undefined || request.name !== undefined) throw serverNotFound();
  if (request.verb !== 'create') throw methodNotAllowed();

  if (isSelfReview) {
    objectBody(body, contentType, 'SelfSubjectReview', `${AUTHENTICATION_GROUP}/v1`);
    return {
      code: 201,
      body: {
        kind: 'SelfSubjectReview',
        apiVersion: `${AUTHENTICATION_GROUP}/v1`,
        metadata: { creationTimestamp: timestamp(deps.clock) },
        status: { userInfo: { username: user.name, groups: userGroups(user) } },
      },
    };
  }

  const review = objectBody(body, contentType, 'SelfSubjectAccessReview', `${AUTHORIZATION_GROUP}/v1`) as AccessReviewBody;
  const spec = review.spec ?? {};
  const gk = { group: AUTHORIZATION_GROUP, kind: 'SelfSubjectAccessReview' };
  if (spec.resourceAttributes && spec.nonResourceAttributes) {
    throw invalid(gk, '', [
      { field: 'spec.nonResourceAttributes', reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(spec.nonResourceAttributes)}: cannot be specified in combination with resourceAttributes` },
    ]);
  }
  if (!spec.resourceAttributes && !spec.nonResourceAttributes) {
    throw invalid(gk, '', [
      { field: 'spec.resourceAttributes', reason: 'FieldValueRequired', message: 'Required value: exactly one of nonResourceAttributes or resourceAttributes must be specified' },
    ]);
  }
  let statusBody: { allowed: boolean; reason?: string };
  let echoed: AccessReviewBody['spec'];
  if (spec.resourceAttributes) {
    const ra = spec.resourceAttributes;
    const namespace = ra.namespace || undefined;
    const rule = deps.auth.allowingRule(user, {
      verb: ra.verb ?? '',
      group: ra.group ?? '',
      resource: ra.resource ?? '',
      ...(ra.subresource ? { subresource: ra.subresource } : {}),
      ...(namespace ? { namespace } : {}),
      ...(ra.name ? { name: ra.name } : {}),
    });
    // A denial by RBAC is "no opinion" with no reason: the status is just allowed: false.
    statusBody = rule ? { allowed: true, reason: allowedReason(user, rule, namespace) } : { allowed: false };
    echoed = { resourceAttributes: present({ namespace: ra.namespace, verb: ra.verb, group: ra.group, version: ra.version, resource: ra.resource, subresource: ra.subresource, name: ra.name }) };
  } else {
    // The harness's rules carry no nonResourceURLs: only unrestricted users may.
    statusBody = user.rules ? { allowed: false } : { allowed: true, reason: allowedReason(user, 'all', undefined) };
    echoed = { nonResourceAttributes: present({ path: spec.nonResourceAttributes!.path, verb: spec.nonResourceAttributes!.verb }) };
  }
  return {
    code: 201,
    body: {
      kind: 'SelfSubjectAccessReview',
      apiVersion: `${AUTHORIZATION_GROUP}/v1`,
      metadata: { creationTimestamp: null },
      spec: echoed,
      status: statusBody,
    },
  };
}
