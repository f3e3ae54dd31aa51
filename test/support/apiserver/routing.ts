/** The verbs RBAC and the call log speak of. */
export type ApiVerb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';

/** A request for an API resource, parsed as k8s.io/apiserver's RequestInfoFactory does. */
export interface ResourceRequest {
  kind: 'resource';
  verb: ApiVerb;
  /** `api` for the core group, `apis` for named groups. */
  prefix: 'api' | 'apis';
  group: string;
  version: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  query: URLSearchParams;
}

/** Discovery, /version, health and anything else that names no resource. */
export interface NonResourceRequest {
  kind: 'nonResource';
  path: string;
  segments: string[];
  query: URLSearchParams;
}

/** Either kind of request. */
export type RequestInfo = ResourceRequest | NonResourceRequest;

/** strconv.ParseBool, which kube uses for `watch=`. */
export function parseBool(value: string | null): boolean {
  return value !== null && ['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value);
}

const METHOD_VERBS: Record<string, ApiVerb> = {
  POST: 'create',
  PUT: 'update',
  PATCH: 'patch',
  GET: 'get',
  HEAD: 'get',
  DELETE: 'delete',
};

/**
 * `/api/v1/namespaces/{ns}/{resource}/{name}/{subresource}`, `/apis/{group}/{version}/…`,
 * all-namespace collections (`/api/v1/pods`) and the legacy `/watch/` prefix.
 */
export function parseRequest(method: string, rawUrl: string): RequestInfo {
  const url = new URL(rawUrl, 'http://apiserver.invalid');
  const segments = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  const nonResource: NonResourceRequest = { kind: 'nonResource', path: url.pathname, segments, query: url.searchParams };
  let rest: string[];
  let prefix: 'api' | 'apis';
  let group = '';
  let version: string;
  if (segments[0] === 'api' && segments.length >= 3) {
    prefix = 'api';
    version = segments[1]!;
    rest = segments.slice(2);
  } else if (segments[0] === 'apis' && segments.length >= 4) {
    prefix = 'apis';
    group = segments[1]!;
    version = segments[2]!;
    rest = segments.slice(3);
  } else {
    return nonResource;
  }
  let verb = METHOD_VERBS[method.toUpperCase()];
  if (!verb) return nonResource;
  let legacyWatch = false;
  if (rest[0] === 'watch') {
    legacyWatch = true;
    rest = rest.slice(1);
  }
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    namespace = rest[1];
    rest = rest.slice(2);
  } else if (rest[0] === 'namespaces' && rest.length === 2) {
    namespace = rest[1];
  }
  const [resource, name, subresource] = rest;
  if (!resource) return nonResource;
  if (legacyWatch) verb = 'watch';
  else if (!name && verb === 'get') verb = parseBool(url.searchParams.get('watch')) ? 'watch' : 'list';
  else if (!name && verb === 'delete') verb = 'deletecollection';
  return { kind: 'resource', verb, prefix, group, version, resource, subresource, namespace, name, query: url.searchParams };
}
