import type { ResourceProfile } from './event-log-summary.js';

/** What a pod asks for: vCPUs and memory in GiB. */
export interface PodResources {
  vcpu: number;
  gib: number;
}

/** Spark on Kubernetes adds at least this much overhead to a JVM's memory (MEMORY_OVERHEAD_MIN_MIB). */
export const MIN_MEMORY_OVERHEAD_MIB = 384;
/** spark.kubernetes.memoryOverheadFactor's default for JVM jobs. */
export const DEFAULT_MEMORY_OVERHEAD_FACTOR = 0.1;
/** spark.executor.memory and spark.driver.memory default to 1g. */
export const DEFAULT_JVM_MEMORY_MIB = 1024;

const UNITS: Record<string, number> = { b: 1 / (1024 * 1024), k: 1 / 1024, kb: 1 / 1024, m: 1, mb: 1, g: 1024, gb: 1024, t: 1024 * 1024, tb: 1024 * 1024, p: 1024 ** 3, pb: 1024 ** 3 };

/**
 * A Spark size string in MiB (Utils.memoryStringToMb / byteStringAs): `2G`, `512m`, `1024`
 * (no unit: `defaultUnit`). Undefined when unset or unreadable.
 * @example sparkSizeMiB('2G') // 2048
 */
export function sparkSizeMiB(value: string | undefined, defaultUnit: 'm' | 'b' = 'm'): number | undefined {
  if (value === undefined) return undefined;
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(value);
  if (!match) return undefined;
  const unit = (match[2] || defaultUnit).toLowerCase();
  const factor = UNITS[unit];
  return factor === undefined ? undefined : Number(match[1]) * factor;
}

/**
 * A Kubernetes CPU quantity in cores, as Spark's `request.cores` and pod requests write it: `2`, `0.5`, `500m`.
 * @example cpuQuantity('500m') // 0.5
 */
export function cpuQuantity(value: string | number | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  const match = /^\s*(\d+(?:\.\d+)?)(m?)\s*$/.exec(value);
  if (!match) return undefined;
  return Number(match[1]) / (match[2] ? 1000 : 1);
}

const MEMORY_SUFFIX: Record<string, number> = { '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50 };

/**
 * A Kubernetes memory quantity in GiB: `1408Mi`, `4Gi`, `4G`, `1e9`.
 * @example memoryQuantityGiB('1536Mi') // 1.5
 */
export function memoryQuantityGiB(value: string | number | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number') return value / 2 ** 30;
  const match = /^\s*(\d+(?:\.\d+)?(?:[eE]\d+)?)(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)?\s*$/.exec(value);
  if (!match) return undefined;
  return (Number(match[1]) * MEMORY_SUFFIX[match[2] ?? '']!) / 2 ** 30;
}

function factor(props: Record<string, string>, role: 'executor' | 'driver'): number {
  const raw = props[`spark.${role}.memoryOverheadFactor`] ?? props['spark.kubernetes.memoryOverheadFactor'];
  const value = raw === undefined ? NaN : Number(raw);
  return Number.isFinite(value) && value >= 0 ? value : DEFAULT_MEMORY_OVERHEAD_FACTOR;
}

function offHeapMiB(props: Record<string, string>): number {
  return props['spark.memory.offHeap.enabled'] === 'true' ? (sparkSizeMiB(props['spark.memory.offHeap.size'], 'b') ?? 0) : 0;
}

/**
 * What Spark asks Kubernetes for per executor pod (BasicExecutorFeatureStep): cores from
 * `spark.kubernetes.executor.request.cores`, else the executor's cores; memory = heap + overhead
 * (explicit, else max(factor × heap, 384 MiB)) + PySpark memory + off-heap. A resource profile's
 * amounts win over the properties, as they do in Spark.
 */
export function executorResources(props: Record<string, string>, profile: ResourceProfile | undefined, totalCores: number | undefined): PodResources {
  const heap = profile?.memoryMiB ?? sparkSizeMiB(props['spark.executor.memory']) ?? DEFAULT_JVM_MEMORY_MIB;
  const overhead = profile?.memoryOverheadMiB ?? sparkSizeMiB(props['spark.executor.memoryOverhead']) ?? Math.max(factor(props, 'executor') * heap, MIN_MEMORY_OVERHEAD_MIB);
  const pyspark = profile?.pysparkMemoryMiB ?? sparkSizeMiB(props['spark.executor.pyspark.memory']) ?? 0;
  const offHeap = profile?.offHeapMiB ?? offHeapMiB(props);
  const vcpu =
    cpuQuantity(props['spark.kubernetes.executor.request.cores']) ?? totalCores ?? profile?.cores ?? cpuQuantity(props['spark.executor.cores']) ?? 1;
  return { vcpu, gib: (heap + overhead + pyspark + offHeap) / 1024 };
}

/** The driver pod's request (BasicDriverFeatureStep), read the same way. */
export function driverResources(props: Record<string, string>): PodResources {
  const heap = sparkSizeMiB(props['spark.driver.memory']) ?? DEFAULT_JVM_MEMORY_MIB;
  const overhead = sparkSizeMiB(props['spark.driver.memoryOverhead']) ?? Math.max(factor(props, 'driver') * heap, MIN_MEMORY_OVERHEAD_MIB);
  const vcpu = cpuQuantity(props['spark.kubernetes.driver.request.cores']) ?? cpuQuantity(props['spark.driver.cores']) ?? 1;
  return { vcpu, gib: (heap + overhead) / 1024 };
}
