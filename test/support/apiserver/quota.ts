import {
  addResourceLists,
  compareQuantity,
  formatResourceList,
  maskResourceList,
  parseQuantity,
  parseResourceList,
  prettyPrintResourceList,
  ZERO,
  type ResourceList,
} from './quantity.js';
import { groupResource, resourceId, type ResourceRegistry, type ResourceType } from './resources.js';
import { conflict, forbidden } from './status.js';
import type { KubeObject, Storage, StoredEvent } from './storage.js';

/**
 * Quota names a pod must request explicitly when a quota tracks them (podEvaluator.Constraints'
 * validationSet: "a mistake ... before QoS was even defined", kept for compatibility).
 */
const MUST_SPECIFY = new Set(['cpu', 'memory', 'requests.cpu', 'requests.memory', 'limits.cpu', 'limits.memory']);

/** Core resources whose object count a quota can also limit under their bare plural. */
const LEGACY_COUNT_NAMES = new Set(['configmaps', 'services', 'resourcequotas', 'secrets', 'persistentvolumeclaims', 'replicationcontrollers']);

interface Container {
  name?: string;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  restartPolicy?: string;
}

function containersOf(pod: KubeObject): { containers: Container[]; initContainers: Container[]; overhead: unknown } {
  const spec = (pod.spec ?? {}) as { containers?: Container[]; initContainers?: Container[]; overhead?: unknown };
  return { containers: spec.containers ?? [], initContainers: spec.initContainers ?? [], overhead: spec.overhead };
}

/** podComputeUsageHelper: what one set of requests and limits counts for, by quota name. */
function computeUsage(requests: ResourceList, limits: ResourceList): ResourceList {
  const out: ResourceList = new Map([['pods', parseQuantity('1')]]);
  for (const [name, q] of requests) {
    if (name === 'cpu' || name === 'memory' || name === 'ephemeral-storage') out.set(name, q);
    out.set(`requests.${name}`, q);
  }
  for (const [name, q] of limits) out.set(`limits.${name}`, q);
  return out;
}

function maxResourceLists(a: ResourceList, b: ResourceList): ResourceList {
  const out: ResourceList = new Map(a);
  for (const [k, v] of b) {
    const existing = out.get(k);
    if (!existing || compareQuantity(v, existing) > 0) out.set(k, v);
  }
  return out;
}

/** resourcehelper.PodRequests / PodLimits: containers summed, init containers as a maximum, plus overhead. */
function podResources(pod: KubeObject, which: 'requests' | 'limits'): ResourceList {
  const { containers, initContainers, overhead } = containersOf(pod);
  let sum: ResourceList = new Map();
  for (const c of containers) sum = addResourceLists(sum, parseResourceList(c.resources?.[which]));
  let initMax: ResourceList = new Map();
  for (const c of initContainers) {
    if (c.restartPolicy === 'Always') sum = addResourceLists(sum, parseResourceList(c.resources?.[which]));
    else initMax = maxResourceLists(initMax, parseResourceList(c.resources?.[which]));
  }
  return addResourceLists(maxResourceLists(sum, initMax), parseResourceList(overhead));
}

/** QuotaV1Pod: pods that reached Succeeded or Failed no longer count against compute quota. */
export function isQuotaChargedPod(pod: KubeObject): boolean {
  const phase = (pod.status as { phase?: string } | undefined)?.phase;
  return phase !== 'Succeeded' && phase !== 'Failed';
}

/** What one object counts for against quota, by quota resource name. */
export function usageOf(type: ResourceType, object: KubeObject): ResourceList {
  const one = parseQuantity('1');
  const usage: ResourceList = new Map([[`count/${resourceId(type)}`, one]]);
  if (type.group === '' && LEGACY_COUNT_NAMES.has(type.resource)) usage.set(type.resource, one);
  if (type.resource === 'pods' && type.group === '' && isQuotaChargedPod(object)) {
    return addResourceLists(usage, computeUsage(podResources(object, 'requests'), podResources(object, 'limits')));
  }
  return usage;
}

function missingRequests(pod: KubeObject, required: Set<string>): string | undefined {
  const missing = new Map<string, Set<string>>();
  const { containers, initContainers } = containersOf(pod);
  for (const c of [...containers, ...initContainers]) {
    const usage = computeUsage(parseResourceList(c.resources?.requests), parseResourceList(c.resources?.limits));
    for (const r of required) {
      if (!usage.has(r)) {
        if (!missing.has(r)) missing.set(r, new Set());
        missing.get(r)!.add(c.name ?? '');
      }
    }
  }
  if (missing.size === 0) return undefined;
  return [...missing.keys()]
    .sort()
    .map((r) => `must specify ${r} for: ${[...missing.get(r)!].sort().join(',')}`)
    .join('; ');
}

interface QuotaCharge {
  quota: KubeObject;
  used: ResourceList;
}

/** Hooks of the quota admission plugin. */
export interface QuotaAdmissionOptions {
  /** Consulted once per create that passes a quota check: true answers 409 Conflict on that quota. */
  injectConflict: () => boolean;
}

/**
 * ResourceQuota admission and the quota controller in one, synchronous: admission checks and
 * charges `status.used` before the object is stored (so a full quota wins over AlreadyExists),
 * and every pod or quota change recalculates usage at once — kube's controller would catch up
 * within its resync period; tests should not have to wait for it.
 */
export class QuotaController {
  private readonly quotaType: ResourceType;
  private readonly usageByObject = new Map<string, Map<string, ResourceList>>();

  constructor(
    private readonly storage: Storage,
    registry: ResourceRegistry,
    private readonly options: QuotaAdmissionOptions,
  ) {
    this.quotaType = registry.byName('resourcequotas');
    storage.subscribe((type, event) => this.onEvent(type, event));
  }

  private quotas(namespace: string): KubeObject[] {
    return this.storage.list(this.quotaType, namespace).filter((q) => q.metadata.namespace === namespace);
  }

  /**
   * Checks a create against every quota of its namespace; throws the 403 (or an injected 409)
   * kube-apiserver would send. The returned charges are applied with `charge` once the caller
   * knows the create will be stored.
   */
  admit(type: ResourceType, namespace: string, object: KubeObject): QuotaCharge[] {
    const quotas = this.quotas(namespace).sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1));
    if (quotas.length === 0) return [];
    const gr = groupResource(type);
    const name = object.metadata.name;
    const delta = usageOf(type, object);
    const interesting: KubeObject[] = [];
    for (const quota of quotas) {
      const hardNames = Object.keys(this.hardOf(quota));
      if (!hardNames.some((h) => delta.has(h) || (type.resource === 'pods' && MUST_SPECIFY.has(h)))) continue;
      if (type.resource === 'pods' && type.group === '') {
        const required = new Set(hardNames.filter((h) => MUST_SPECIFY.has(h)));
        const problem = required.size > 0 ? missingRequests(object, required) : undefined;
        if (problem) throw forbidden(gr, name, `failed quota: ${quota.metadata.name}: ${problem}`);
      }
      interesting.push(quota);
    }
    const charges: QuotaCharge[] = [];
    for (const quota of interesting) {
      const hard = parseResourceList(this.hardOf(quota));
      const used = parseResourceList((quota.status as { used?: unknown } | undefined)?.used);
      const requested = maskResourceList(delta, hard.keys());
      if (requested.size === 0) continue;
      const newUsage = addResourceLists(used, requested);
      const exceeded = [...requested.keys()].filter((k) => compareQuantity(newUsage.get(k)!, hard.get(k)!) > 0).sort();
      if (exceeded.length > 0) {
        throw forbidden(
          gr,
          name,
          `exceeded quota: ${quota.metadata.name}, requested: ${prettyPrintResourceList(maskResourceList(requested, exceeded))}, used: ${prettyPrintResourceList(maskResourceList(used, exceeded))}, limited: ${prettyPrintResourceList(maskResourceList(hard, exceeded))}`,
        );
      }
      charges.push({ quota, used: newUsage });
    }
    if (charges.length > 0 && this.options.injectConflict()) {
      // Two apiserver replicas admitting at once race on the quota object's resourceVersion.
      throw conflict(groupResource(this.quotaType), charges[0]!.quota.metadata.name);
    }
    return charges;
  }

  /** Writes admitted usage to the quotas, as admission does before the object is stored. */
  charge(charges: QuotaCharge[]): void {
    for (const { quota, used } of charges) {
      const current = this.storage.get(this.quotaType, quota.metadata.namespace, quota.metadata.name);
      if (!current) continue;
      const status = (current.status ?? {}) as Record<string, unknown>;
      const merged = { ...((status.used as Record<string, string> | undefined) ?? {}), ...formatResourceList(used) };
      this.storage.update(this.quotaType, { ...current, status: { ...status, used: merged } });
    }
  }

  /** The quota controller's sync: `status.hard` mirrors `spec.hard`, `status.used` counts what exists now. */
  recalculate(namespace: string): void {
    const objects = this.usageByObject.get(namespace) ?? new Map<string, ResourceList>();
    for (const quota of this.quotas(namespace)) {
      const hard = parseResourceList((quota.spec as { hard?: unknown } | undefined)?.hard);
      let total: ResourceList = new Map();
      for (const usage of objects.values()) total = addResourceLists(total, maskResourceList(usage, hard.keys()));
      const used: ResourceList = new Map();
      for (const key of hard.keys()) used.set(key, total.get(key) ?? ZERO);
      const status = { hard: formatResourceList(hard), used: formatResourceList(used) };
      if (JSON.stringify(status) !== JSON.stringify(quota.status ?? {})) {
        this.storage.update(this.quotaType, { ...quota, status });
      }
    }
  }

  private hardOf(quota: KubeObject): Record<string, unknown> {
    const status = quota.status as { hard?: Record<string, unknown> } | undefined;
    return status?.hard ?? (quota.spec as { hard?: Record<string, unknown> } | undefined)?.hard ?? {};
  }

  private onEvent(type: ResourceType, event: StoredEvent): void {
    const namespace = event.object.metadata.namespace;
    if (!namespace || !type.namespaced) return;
    // What every object counts for, kept up to date from the event stream, so a sync never rereads the namespace.
    let objects = this.usageByObject.get(namespace);
    if (!objects) this.usageByObject.set(namespace, (objects = new Map()));
    const id = `${resourceId(type)}/${event.key}`;
    const before = objects.get(id);
    const after = event.type === 'DELETED' ? undefined : usageOf(type, event.object);
    if (after) objects.set(id, after);
    else objects.delete(id);
    if (type === this.quotaType) {
      const specChanged = JSON.stringify(event.object.spec) !== JSON.stringify(event.prev?.spec);
      if (event.type !== 'DELETED' && specChanged) {
        this.recalculate(namespace);
        return;
      }
    }
    const changed = new Set<string>();
    for (const key of new Set([...(before?.keys() ?? []), ...(after?.keys() ?? [])])) {
      const a = before?.get(key);
      const b = after?.get(key);
      if (!a || !b || compareQuantity(a, b) !== 0) changed.add(key);
    }
    if (changed.size === 0) return;
    const tracked = this.quotas(namespace).some((q) => Object.keys(this.hardOf(q)).some((k) => changed.has(k)));
    if (tracked) this.recalculate(namespace);
  }
}
