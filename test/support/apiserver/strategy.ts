import { randomUUID } from 'node:crypto';
import type { Clock } from '../../../shared/clock.js';
import { canonicalQuantity, QUANTITY_SYNTAX_ERROR } from './quantity.js';
import { groupKind, withTypeMeta, type ResourceType } from './resources.js';
import type { Random } from './rng.js';
import { badRequest, invalid } from './status.js';
import type { KubeObject } from './storage.js';

/** names.SimpleNameGenerator: generateName plus five characters from this alphabet (no vowels, no look-alikes). */
const NAME_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';
const MAX_GENERATED_BASE = 58;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL_1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

const SUBDOMAIN_HELP =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_1035_HELP =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";

/** RFC 3339 to the second, as metav1.Time marshals. */
export function timestamp(clock: Clock): string {
  return new Date(clock.now()).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

interface Container {
  name?: string;
  image?: string;
  resources?: { requests?: Record<string, string | number>; limits?: Record<string, string | number> };
}

interface PodSpec {
  containers?: Container[];
  initContainers?: Container[];
  [key: string]: unknown;
}

function canonicalList(list: Record<string, string | number> | undefined, kindName: string): Record<string, string> | undefined {
  if (!list) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(list)) {
    try {
      out[k] = canonicalQuantity(v);
    } catch {
      // The JSON decoder rejects a malformed quantity before validation runs.
      throw badRequest(`${kindName} in version "v1" cannot be handled as a ${kindName}: ${QUANTITY_SYNTAX_ERROR}`);
    }
  }
  return out;
}

/** SetDefaults_Pod: a container that sets a limit but no request for it gets the limit as request. */
function defaultPodResources(spec: PodSpec): void {
  for (const c of [...(spec.containers ?? []), ...(spec.initContainers ?? [])]) {
    if (!c.resources) continue;
    const limits = canonicalList(c.resources.limits, 'Pod');
    const requests = canonicalList(c.resources.requests, 'Pod') ?? {};
    if (limits) {
      c.resources.limits = limits;
      for (const [k, v] of Object.entries(limits)) if (!(k in requests)) requests[k] = v;
    }
    if (Object.keys(requests).length > 0) c.resources.requests = requests;
  }
}

function qosClass(spec: PodSpec): 'Guaranteed' | 'Burstable' | 'BestEffort' {
  const containers = [...(spec.containers ?? []), ...(spec.initContainers ?? [])];
  const compute = ['cpu', 'memory'];
  const any = containers.some((c) => compute.some((r) => c.resources?.requests?.[r] !== undefined || c.resources?.limits?.[r] !== undefined));
  if (!any) return 'BestEffort';
  const guaranteed = containers.every((c) =>
    compute.every((r) => c.resources?.limits?.[r] !== undefined && c.resources?.requests?.[r] === c.resources?.limits?.[r]),
  );
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

function validateName(type: ResourceType, name: string): void {
  const label = type.resource === 'services';
  const ok = label ? name.length <= 63 && DNS_LABEL_1035.test(name) : name.length <= 253 && DNS_SUBDOMAIN.test(name);
  if (!ok) {
    throw invalid(groupKind(type), name, [
      { field: 'metadata.name', reason: 'FieldValueInvalid', message: `Invalid value: "${name}": ${label ? LABEL_1035_HELP : SUBDOMAIN_HELP}` },
    ]);
  }
}

function validatePod(object: KubeObject): void {
  const spec = (object.spec ?? {}) as PodSpec;
  if (!Array.isArray(spec.containers) || spec.containers.length === 0) {
    throw invalid(groupKind({ group: '', kind: 'Pod' } as ResourceType), object.metadata.name, [
      { field: 'spec.containers', reason: 'FieldValueRequired', message: 'Required value' },
    ]);
  }
}

/** metav1.MicroTime's wire format (RFC3339Micro): exactly six fractional digits, as time.Parse demands. */
const MICRO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}(Z|[+-]\d{2}:\d{2})$/;
const RFC3339_MICRO_LAYOUT = '2006-01-02T15:04:05.000000Z07:00';

/** MicroTime.UnmarshalJSON then MarshalJSON: the time in UTC with microseconds. */
function canonicalMicroTime(value: unknown, kindName: string): string {
  if (typeof value !== 'string' || !MICRO_TIME.test(value) || Number.isNaN(Date.parse(value))) {
    throw badRequest(`${kindName} in version "v1" cannot be handled as a ${kindName}: parsing time ${JSON.stringify(String(value))} as ${JSON.stringify(RFC3339_MICRO_LAYOUT)}: cannot parse as RFC3339Micro`);
  }
  const micros = value.slice(20, 26);
  return `${new Date(value).toISOString().slice(0, 19)}.${micros}Z`;
}

interface LeaseSpec {
  acquireTime?: unknown;
  renewTime?: unknown;
  leaseDurationSeconds?: number;
  leaseTransitions?: number;
}

/** Lease decoding and ValidateLeaseSpec (pkg/apis/coordination/validation). */
function prepareLease(type: ResourceType, object: KubeObject): void {
  const spec = (object.spec ?? {}) as LeaseSpec;
  for (const key of ['acquireTime', 'renewTime'] as const) {
    if (spec[key] !== undefined && spec[key] !== null) spec[key] = canonicalMicroTime(spec[key], 'Lease');
  }
  const causes: { field: string; reason: string; message: string }[] = [];
  if (spec.leaseDurationSeconds !== undefined && spec.leaseDurationSeconds <= 0) {
    causes.push({ field: 'spec.leaseDurationSeconds', reason: 'FieldValueInvalid', message: `Invalid value: ${spec.leaseDurationSeconds}: must be greater than 0` });
  }
  if (spec.leaseTransitions !== undefined && spec.leaseTransitions < 0) {
    causes.push({ field: 'spec.leaseTransitions', reason: 'FieldValueInvalid', message: `Invalid value: ${spec.leaseTransitions}: must be greater than or equal to 0` });
  }
  if (causes.length > 0) throw invalid(groupKind(type), object.metadata.name, causes);
}

function isLease(type: ResourceType): boolean {
  return type.resource === 'leases' && type.group === 'coordination.k8s.io';
}

/** rest.BeforeCreate plus each registry's PrepareForCreate, Validate and defaulting. */
export function prepareForCreate(type: ResourceType, input: KubeObject, ctx: { clock: Clock; random: Random; namespace?: string }): KubeObject {
  const object = withTypeMeta(type, structuredClone(input));
  const meta = object.metadata;
  if (meta.resourceVersion) throw badRequest('resourceVersion should not be set on objects to be created');
  if (!meta.name && meta.generateName) {
    let suffix = '';
    for (let i = 0; i < 5; i++) suffix += NAME_ALPHABET[Math.floor(ctx.random() * NAME_ALPHABET.length)];
    meta.name = meta.generateName.slice(0, MAX_GENERATED_BASE) + suffix;
  }
  if (!meta.name) {
    throw invalid(groupKind(type), '', [
      { field: 'metadata.name', reason: 'FieldValueRequired', message: 'Required value: name or generateName is required' },
    ]);
  }
  validateName(type, meta.name);
  if (type.namespaced) meta.namespace = ctx.namespace;
  else delete meta.namespace;
  meta.uid = randomUUID();
  meta.creationTimestamp = timestamp(ctx.clock);
  delete meta.deletionTimestamp;
  if (type.custom) meta.generation = 1;
  if (type.resource === 'pods' && !type.group) {
    validatePod(object);
    const spec = object.spec as PodSpec;
    defaultPodResources(spec);
    object.status = { phase: 'Pending', qosClass: qosClass(spec) };
  } else if (type.resource === 'resourcequotas') {
    const spec = (object.spec ?? {}) as { hard?: Record<string, string | number> };
    if (spec.hard) spec.hard = canonicalList(spec.hard, 'ResourceQuota');
    object.status = {};
  } else if (type.resource === 'services' || type.resource === 'ingresses') {
    object.status = { loadBalancer: {} };
  } else if (isLease(type)) {
    prepareLease(type, object);
  } else if (type.statusSubresource) {
    delete object.status;
  }
  return object;
}

function withoutMutablePodFields(spec: PodSpec): unknown {
  const copy = structuredClone(spec);
  for (const c of [...(copy.containers ?? []), ...(copy.initContainers ?? [])]) delete c.image;
  delete copy.activeDeadlineSeconds;
  delete copy.tolerations;
  delete copy.terminationGracePeriodSeconds;
  return copy;
}

const POD_SPEC_IMMUTABLE =
  'Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)';

function specOf(object: KubeObject): unknown {
  const { metadata: _m, status: _s, kind: _k, apiVersion: _a, ...rest } = object;
  return rest;
}

/**
 * rest.BeforeUpdate plus PrepareForUpdate: system metadata stays, main-resource writes keep the
 * stored status and `/status` writes change nothing but status.
 */
export function prepareForUpdate(type: ResourceType, old: KubeObject, input: KubeObject, subresource: string | undefined): KubeObject {
  const incoming = withTypeMeta(type, structuredClone(input));
  let object: KubeObject;
  if (subresource === 'status') {
    object = { ...structuredClone(old), status: incoming.status };
  } else {
    object = incoming;
    if (type.statusSubresource) {
      if (old.status === undefined) delete object.status;
      else object.status = structuredClone(old.status);
    }
  }
  const meta = object.metadata;
  for (const key of ['name', 'namespace', 'uid', 'creationTimestamp', 'generation', 'deletionTimestamp', 'generateName'] as const) {
    if (old.metadata[key] === undefined) delete meta[key];
    else meta[key] = old.metadata[key] as never;
  }
  if (type.resource === 'pods' && !type.group && subresource !== 'status') {
    const before = JSON.stringify(withoutMutablePodFields((old.spec ?? {}) as PodSpec));
    const after = JSON.stringify(withoutMutablePodFields((object.spec ?? {}) as PodSpec));
    if (before !== after) {
      throw invalid(groupKind(type), meta.name, [{ field: 'spec', reason: 'FieldValueForbidden', message: POD_SPEC_IMMUTABLE }]);
    }
  }
  if (type.resource === 'resourcequotas') {
    const spec = (object.spec ?? {}) as { hard?: Record<string, string | number> };
    if (spec.hard) spec.hard = canonicalList(spec.hard, 'ResourceQuota');
  }
  if (isLease(type)) prepareLease(type, object);
  if (type.custom && subresource !== 'status' && JSON.stringify(specOf(object)) !== JSON.stringify(specOf(old))) {
    meta.generation = (old.metadata.generation ?? 0) + 1;
  }
  return object;
}
