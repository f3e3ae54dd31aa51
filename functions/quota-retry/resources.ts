import { InvalidInputError } from '../../shared/errors.js';
import type { KubeObject } from './manifest.js';
import { formatMilli, parseMilli, type Milli } from './quantity.js';

/** What a submission counts for against ResourceQuota, by quota resource name (`requests.cpu`, `pods`…). */
export type Usage = Map<string, Milli>;

const ONE: Milli = 1000n;
/** Compute resources a quota also tracks under their bare name (`cpu` is `requests.cpu`). */
const BARE_NAMES = new Set(['cpu', 'memory', 'ephemeral-storage']);
/** Core kinds whose count a quota can limit under the bare plural as well as `count/<plural>`. */
const LEGACY_COUNTS: Record<string, string> = { ConfigMap: 'configmaps', Service: 'services', Secret: 'secrets', PersistentVolumeClaim: 'persistentvolumeclaims' };
/** Spark on Kubernetes: memory overhead is 10 % of the heap for JVM apps, 40 % for Python and R, at least 384 MiB. */
const JVM_OVERHEAD_FACTOR = 0.1;
const NON_JVM_OVERHEAD_FACTOR = 0.4;
const MIN_OVERHEAD_BYTES = 384n * 1024n * 1024n;

interface Container {
  name?: string;
  restartPolicy?: string;
  resources?: { requests?: Record<string, unknown>; limits?: Record<string, unknown> };
}

function add(into: Usage, name: string, value: Milli): void {
  into.set(name, (into.get(name) ?? 0n) + value);
}

function addAll(into: Usage, from: Usage): Usage {
  for (const [k, v] of from) add(into, k, v);
  return into;
}

function maxAll(into: Usage, from: Usage): Usage {
  for (const [k, v] of from) if (v > (into.get(k) ?? 0n)) into.set(k, v);
  return into;
}

function listOf(values: Record<string, unknown> | undefined, where: string): Usage {
  const out: Usage = new Map();
  for (const [name, q] of Object.entries(values ?? {})) out.set(name, parseMilli(q, `${where} ${name}`));
  return out;
}

/** A container's requests as the apiserver stores them: a limit without a request defaults the request. */
function containerResources(c: Container, pod: string): { requests: Usage; limits: Usage } {
  const where = `pod ${pod} container ${c.name ?? '?'}`;
  const limits = listOf(c.resources?.limits, `${where} limit`);
  const requests = listOf(c.resources?.requests, `${where} request`);
  for (const [k, v] of limits) if (!requests.has(k)) requests.set(k, v);
  return { requests, limits };
}

/** resourcehelper.PodRequests / PodLimits: containers and sidecars summed, init containers as a maximum, plus overhead. */
function podTotals(pod: KubeObject): { requests: Usage; limits: Usage } {
  const spec = (pod.spec ?? {}) as { containers?: Container[]; initContainers?: Container[]; overhead?: Record<string, unknown> };
  const name = pod.metadata?.name ?? '?';
  const requests: Usage = new Map();
  const limits: Usage = new Map();
  for (const c of spec.containers ?? []) {
    const r = containerResources(c, name);
    addAll(requests, r.requests);
    addAll(limits, r.limits);
  }
  const initRequests: Usage = new Map();
  const initLimits: Usage = new Map();
  for (const c of spec.initContainers ?? []) {
    const r = containerResources(c, name);
    if (c.restartPolicy === 'Always') {
      addAll(requests, r.requests);
      addAll(limits, r.limits);
    } else {
      maxAll(initRequests, r.requests);
      maxAll(initLimits, r.limits);
    }
  }
  const overhead = listOf(spec.overhead, `pod ${name} overhead`);
  return { requests: addAll(maxAll(requests, initRequests), overhead), limits: addAll(maxAll(limits, initLimits), overhead) };
}

/** The quota names a pod's requests and limits count for (podComputeUsageHelper). */
function computeUsage(requests: Usage, limits: Usage): Usage {
  const out: Usage = new Map([
    ['pods', ONE],
    ['count/pods', ONE],
  ]);
  for (const [name, q] of requests) {
    if (BARE_NAMES.has(name)) out.set(name, q);
    out.set(`requests.${name}`, q);
  }
  for (const [name, q] of limits) out.set(`limits.${name}`, q);
  return out;
}

/** What one pod counts for against quota, exactly as ResourceQuota admission sums it. */
export function podUsage(pod: KubeObject): Usage {
  const { requests, limits } = podTotals(pod);
  return computeUsage(requests, limits);
}

/** Bytes of a Spark memory setting (`512m`, `4g`, `2048`: JVM suffixes, no suffix meaning MiB). */
export function sparkMemoryBytes(text: unknown, what: string): bigint {
  const match = typeof text === 'string' ? /^(\d+)\s*([kmgtp]?)b?$/i.exec(text.trim()) : null;
  if (!match) throw new InvalidInputError(`The ${what} ${JSON.stringify(text)} is not a Spark memory size (e.g. 512m, 4g).`, 'invalid-quantity');
  const shift: Record<string, bigint> = { '': 20n, k: 10n, m: 20n, g: 30n, t: 40n, p: 50n };
  return BigInt(match[1]!) << shift[match[2]!.toLowerCase()]!;
}

/**
 * The driver pod spark-operator will create for a SparkApplication, as quota counts it: cpu
 * request = `coreRequest` or `cores` (default 1), cpu limit = `coreLimit`, memory request and
 * limit = `memory` + overhead (`memoryOverhead`, else 10 % for JVM / 40 % for Python and R, at
 * least 384 MiB), plus the SparkApplication object itself.
 */
export function sparkApplicationUsage(app: KubeObject): Usage {
  const spec = (app.spec ?? {}) as {
    type?: string;
    memoryOverheadFactor?: string;
    driver?: { cores?: number; coreRequest?: string; coreLimit?: string; memory?: string; memoryOverhead?: string };
  };
  const driver = spec.driver ?? {};
  const name = app.metadata?.name ?? '?';
  const cpu = driver.coreRequest !== undefined ? parseMilli(driver.coreRequest, `${name} driver.coreRequest`) : parseMilli(String(driver.cores ?? 1), `${name} driver.cores`);
  const heap = sparkMemoryBytes(driver.memory ?? '1g', `${name} driver.memory`);
  const factor = spec.memoryOverheadFactor !== undefined ? Number(spec.memoryOverheadFactor) : spec.type === 'Python' || spec.type === 'R' ? NON_JVM_OVERHEAD_FACTOR : JVM_OVERHEAD_FACTOR;
  let overhead = driver.memoryOverhead !== undefined ? sparkMemoryBytes(driver.memoryOverhead, `${name} driver.memoryOverhead`) : BigInt(Math.ceil(Number(heap) * factor));
  if (driver.memoryOverhead === undefined && overhead < MIN_OVERHEAD_BYTES) overhead = MIN_OVERHEAD_BYTES;
  const memory = (heap + overhead) * 1000n;
  const requests: Usage = new Map([
    ['cpu', cpu],
    ['memory', memory],
  ]);
  const limits: Usage = new Map([['memory', memory]]);
  if (driver.coreLimit !== undefined) limits.set('cpu', parseMilli(driver.coreLimit, `${name} driver.coreLimit`));
  const usage = computeUsage(requests, limits);
  usage.set('count/sparkapplications.sparkoperator.k8s.io', ONE);
  return usage;
}

/** What one object of a submission counts for. */
export function objectUsage(object: KubeObject): Usage {
  switch (object.kind) {
    case 'Pod':
      return podUsage(object);
    case 'SparkApplication':
      return sparkApplicationUsage(object);
    default: {
      const plural = LEGACY_COUNTS[object.kind ?? ''];
      const usage: Usage = new Map();
      if (plural) {
        usage.set(plural, ONE);
        usage.set(`count/${plural}`, ONE);
      }
      const spec = (object.spec ?? {}) as { type?: string };
      if (object.kind === 'Service' && spec.type === 'LoadBalancer') usage.set('services.loadbalancers', ONE);
      if (object.kind === 'Service' && (spec.type === 'NodePort' || spec.type === 'LoadBalancer')) usage.set('services.nodeports', ONE);
      return usage;
    }
  }
}

/** Everything a submission's objects count for together. */
export function submissionUsage(objects: readonly KubeObject[]): Usage {
  const total: Usage = new Map();
  for (const o of objects) addAll(total, objectUsage(o));
  return total;
}

/** Usage as JSON (quantity strings), for queue entries. */
export function usageToJson(usage: Usage): Record<string, string> {
  return Object.fromEntries([...usage].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, formatMilli(v)]));
}

export function usageFromJson(json: Record<string, string>): Usage {
  return new Map(Object.entries(json).map(([k, v]) => [k, parseMilli(v, `queued usage ${k}`)]));
}

/** One ResourceQuota's limits and what is used, as a drain sees them. */
export interface QuotaRoom {
  name: string;
  hard: Usage;
  used: Usage;
}

interface QuotaLike {
  metadata?: { name?: string };
  spec?: { hard?: Record<string, unknown> };
  status?: { hard?: Record<string, unknown>; used?: Record<string, unknown> };
}

/** `status.hard` (or `spec.hard` before the controller synced) and `status.used` of each quota. */
export function quotaRooms(quotas: readonly QuotaLike[]): QuotaRoom[] {
  return quotas.map((q) => {
    const name = q.metadata?.name ?? '?';
    return { name, hard: listOf(q.status?.hard ?? q.spec?.hard, `quota ${name} hard`), used: listOf(q.status?.used, `quota ${name} used`) };
  });
}

/**
 * Whether `usage` fits every quota (only the names a quota limits count, as admission masks
 * them), and if not, which quota and resource is short: `spark-quota: requests.cpu`.
 */
export function fitsQuotas(usage: Usage, rooms: readonly QuotaRoom[]): { fits: true } | { fits: false; short: string } {
  for (const room of rooms) {
    for (const [name, hard] of room.hard) {
      const wanted = usage.get(name);
      if (wanted === undefined) continue;
      if ((room.used.get(name) ?? 0n) + wanted > hard) return { fits: false, short: `${room.name}: ${name}` };
    }
  }
  return { fits: true };
}

/** Counts `usage` as used in every quota that limits it (a drain's running view after an admission). */
export function chargeQuotas(usage: Usage, rooms: readonly QuotaRoom[]): void {
  for (const room of rooms) for (const name of room.hard.keys()) if (usage.has(name)) add(room.used, name, usage.get(name)!);
}
