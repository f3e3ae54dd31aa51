import { Interner, otherRecord, podRecord, quotaRecord, sparkAppRecord, type OtherRecord, type PodRecord, type QuotaRecord, type RawObject, type SparkAppRecord } from './records.js';

/** One change, as a watch delivers it or a list implies it. */
export interface ModelChange {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: RawObject;
}

/** The kinds the monitor keeps; anything else handed over is ignored. */
const KINDS = new Set(['Pod', 'ConfigMap', 'Service', 'Ingress', 'SparkApplication', 'ResourceQuota']);

function identity(object: RawObject): string {
  const m = object.metadata ?? {};
  return `${object.kind ?? ''}:${(m as { uid?: string }).uid ?? `${m.namespace ?? ''}/${m.name ?? ''}`}`;
}

/**
 * The monitor's in-memory picture of the cluster: compact records of Spark pods, the app-labelled
 * ConfigMaps, Services and Ingresses, SparkApplications and ResourceQuotas, keyed by kind and uid.
 * Applying a change is idempotent (the same ADDED or MODIFIED twice leaves one record; a DELETED
 * of something unknown is nothing), so a watch's relist after a 410, which re-delivers what it
 * missed, converges on the same picture a fresh list gives.
 */
export class SparkModel {
  readonly pods = new Map<string, PodRecord>();
  readonly others = new Map<string, OtherRecord>();
  readonly sparkApps = new Map<string, SparkAppRecord>();
  readonly quotas = new Map<string, QuotaRecord>();
  /** Apps (`namespace/appId`) whose driver was seen started, for `apps_started_total`. */
  private readonly started = new Set<string>();
  private readonly intern = new Interner();
  /** ms of the last change applied or the last full rebuild; 0 before any. */
  updatedAt = 0;

  /** @param onAppStarted called once per app the first time its driver is seen with a start time */
  constructor(private readonly onAppStarted: (namespace: string) => void = () => undefined) {}

  /** Applies one change; returns false when the object is of no interest. */
  apply(change: ModelChange, now: number): boolean {
    const kind = change.object.kind ?? '';
    if (!KINDS.has(kind)) return false;
    const id = identity(change.object);
    this.updatedAt = now;
    if (change.type === 'DELETED') {
      const pod = this.pods.get(id);
      if (pod?.role === 'driver') this.started.delete(`${pod.namespace}/${pod.appId}`);
      this.pods.delete(id);
      this.others.delete(id);
      this.sparkApps.delete(id);
      this.quotas.delete(id);
      return true;
    }
    switch (kind) {
      case 'Pod': {
        const record = podRecord(change.object, this.intern);
        if (!record) {
          this.pods.delete(id);
          return false;
        }
        this.pods.set(id, record);
        if (record.role === 'driver' && record.startMs !== undefined) {
          const key = `${record.namespace}/${record.appId}`;
          if (!this.started.has(key)) {
            this.started.add(key);
            this.onAppStarted(record.namespace);
          }
        }
        return true;
      }
      case 'SparkApplication': {
        const record = sparkAppRecord(change.object, this.intern);
        if (record) this.sparkApps.set(id, record);
        return record !== undefined;
      }
      case 'ResourceQuota': {
        const record = quotaRecord(change.object, this.intern);
        if (record) this.quotas.set(id, record);
        return record !== undefined;
      }
      default: {
        const record = otherRecord(change.object, this.intern);
        if (record) this.others.set(id, record);
        else this.others.delete(id);
        return record !== undefined;
      }
    }
  }

  /**
   * Replaces everything with what a complete list snapshot holds (the FC / Lambda timer and the
   * CLI): the same records the watch path builds, without counting app starts again.
   */
  replaceAll(objects: Iterable<RawObject>, now: number): void {
    this.pods.clear();
    this.others.clear();
    this.sparkApps.clear();
    this.quotas.clear();
    this.intern.clear();
    for (const object of objects) this.apply({ type: 'ADDED', object }, now);
    // Apps counted before the rebuild stay counted; apps whose driver is gone are forgotten.
    const drivers = new Set([...this.pods.values()].filter((p) => p.role === 'driver').map((p) => `${p.namespace}/${p.appId}`));
    for (const key of this.started) if (!drivers.has(key)) this.started.delete(key);
    this.updatedAt = now;
  }

  /** Records kept, for logs and the scale bench. */
  size(): { pods: number; others: number; sparkApps: number; quotas: number } {
    return { pods: this.pods.size, others: this.others.size, sparkApps: this.sparkApps.size, quotas: this.quotas.size };
  }
}
