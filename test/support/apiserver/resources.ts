import type { GroupKind, GroupResource } from './status.js';

/** How one kind is served: its URL names, its list kind, and the behaviours that differ by resource. */
export interface ResourceType {
  group: string;
  version: string;
  /** Plural, as in URLs and RBAC rules. */
  resource: string;
  kind: string;
  listKind: string;
  singular: string;
  shortNames: string[];
  namespaced: boolean;
  /** Has a `/status` subresource: main-resource writes keep the stored status, `/status` writes change only it. */
  statusSubresource: boolean;
  /** A custom resource (served like a CRD: unstructured list items keep kind/apiVersion, no strategic merge patch). */
  custom: boolean;
  /** The registry's ReturnDeletedObject: delete answers with the object instead of a Success Status. */
  returnDeletedObject: boolean;
  /** Field selector labels beyond metadata.name / metadata.namespace, mapped to the object path they read. */
  fieldLabels: Record<string, string>;
  /**
   * The strategy's AllowUnconditionalUpdate: an update without `metadata.resourceVersion` is
   * accepted. False for custom resources and Leases, whose updates must name the version they read.
   */
  allowUnconditionalUpdate: boolean;
}

/** `v1`, `networking.k8s.io/v1`. */
export function apiVersionOf(type: ResourceType): string {
  return type.group ? `${type.group}/${type.version}` : type.version;
}

/** How Status messages and details name the resource. */
export function groupResource(type: ResourceType): GroupResource {
  return { group: type.group, resource: type.resource };
}

/** How Invalid errors name the kind. */
export function groupKind(type: ResourceType): GroupKind {
  return { group: type.group, kind: type.kind };
}

/** The id tests and the call log use: `pods`, `ingresses.networking.k8s.io`. */
export function resourceId(type: ResourceType): string {
  return type.group ? `${type.resource}.${type.group}` : type.resource;
}

function core(resource: string, kind: string, extra: Partial<ResourceType> = {}): ResourceType {
  return {
    group: '',
    version: 'v1',
    resource,
    kind,
    listKind: `${kind}List`,
    singular: kind.toLowerCase(),
    shortNames: [],
    namespaced: true,
    statusSubresource: false,
    custom: false,
    returnDeletedObject: false,
    fieldLabels: {},
    allowUnconditionalUpdate: true,
    ...extra,
  };
}

/**
 * What the test apiserver serves. Field labels follow each registry's GetAttrs
 * (pkg/registry/core/pod/strategy.go ToSelectableFields, event/strategy.go, service/strategy.go).
 */
export const RESOURCE_TYPES: readonly ResourceType[] = [
  core('pods', 'Pod', {
    shortNames: ['po'],
    statusSubresource: true,
    returnDeletedObject: true,
    fieldLabels: {
      'spec.nodeName': 'spec.nodeName',
      'spec.restartPolicy': 'spec.restartPolicy',
      'spec.schedulerName': 'spec.schedulerName',
      'spec.serviceAccountName': 'spec.serviceAccountName',
      'spec.hostNetwork': 'spec.hostNetwork',
      'status.phase': 'status.phase',
      'status.podIP': 'status.podIP',
      'status.nominatedNodeName': 'status.nominatedNodeName',
    },
  }),
  core('configmaps', 'ConfigMap', { shortNames: ['cm'] }),
  core('services', 'Service', {
    shortNames: ['svc'],
    statusSubresource: true,
    returnDeletedObject: true,
    fieldLabels: { 'spec.clusterIP': 'spec.clusterIP', 'spec.type': 'spec.type' },
  }),
  core('events', 'Event', {
    shortNames: ['ev'],
    fieldLabels: {
      'involvedObject.kind': 'involvedObject.kind',
      'involvedObject.namespace': 'involvedObject.namespace',
      'involvedObject.name': 'involvedObject.name',
      'involvedObject.uid': 'involvedObject.uid',
      'involvedObject.apiVersion': 'involvedObject.apiVersion',
      'involvedObject.resourceVersion': 'involvedObject.resourceVersion',
      'involvedObject.fieldPath': 'involvedObject.fieldPath',
      reason: 'reason',
      reportingComponent: 'reportingComponent',
      source: 'source.component',
      type: 'type',
    },
  }),
  core('resourcequotas', 'ResourceQuota', { shortNames: ['quota'], statusSubresource: true, returnDeletedObject: true }),
  {
    ...core('ingresses', 'Ingress', { shortNames: ['ing'], statusSubresource: true }),
    group: 'networking.k8s.io',
  },
  {
    ...core('sparkapplications', 'SparkApplication', {
      shortNames: ['sparkapp'],
      statusSubresource: true,
      custom: true,
      returnDeletedObject: true,
      allowUnconditionalUpdate: false,
    }),
    group: 'sparkoperator.k8s.io',
    version: 'v1beta2',
  },
  // pkg/registry/coordination/lease/strategy.go: AllowUnconditionalUpdate false.
  {
    ...core('leases', 'Lease', { allowUnconditionalUpdate: false }),
    group: 'coordination.k8s.io',
  },
];

/** Looks resource types up by URL, by apiVersion/kind, or by the short id tests use. */
export class ResourceRegistry {
  constructor(readonly types: readonly ResourceType[] = RESOURCE_TYPES) {}

  byUrl(group: string, version: string, resource: string): ResourceType | undefined {
    return this.types.find((t) => t.group === group && t.version === version && t.resource === resource);
  }

  byKind(apiVersion: string, kind: string): ResourceType | undefined {
    return this.types.find((t) => apiVersionOf(t) === apiVersion && t.kind === kind);
  }

  /** `pods`, `ingresses`, `ingresses.networking.k8s.io`, `Pod`: whatever a test finds natural. */
  byName(name: string): ResourceType {
    const found = this.types.find((t) => t.resource === name || resourceId(t) === name || t.kind === name);
    if (!found) throw new Error(`The test apiserver does not serve ${JSON.stringify(name)}.`);
    return found;
  }

  groups(): { group: string; version: string }[] {
    const seen = new Map<string, string>();
    for (const t of this.types) if (t.group && !seen.has(t.group)) seen.set(t.group, t.version);
    return [...seen].map(([group, version]) => ({ group, version }));
  }
}

/** The object with kind and apiVersion first, in the order kube-apiserver serializes them. */
export function withTypeMeta<T extends { metadata: unknown }>(type: ResourceType, object: T): T {
  const { kind: _kind, apiVersion: _apiVersion, ...rest } = object as T & { kind?: string; apiVersion?: string };
  return { kind: type.kind, apiVersion: apiVersionOf(type), ...rest } as unknown as T;
}

/** A list item: built-in types drop kind/apiVersion inside lists, unstructured custom resources keep them. */
export function asListItem<T extends { metadata: unknown }>(type: ResourceType, object: T): T {
  if (type.custom) return withTypeMeta(type, object);
  const { kind: _kind, apiVersion: _apiVersion, ...rest } = object as T & { kind?: string; apiVersion?: string };
  return rest as unknown as T;
}
