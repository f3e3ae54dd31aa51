import type { WantedEvent } from './line-filter.js';

/** One executor as the event log tells it. */
export interface LoggedExecutor {
  executorId: string;
  added: number;
  removed?: number;
  removedReason?: string;
  /** `Executor Info.Total Cores`: the task slots Spark gave it. */
  totalCores?: number;
  resourceProfileId: number;
  host?: string;
}

/** Executor resource requests of one resource profile (SparkListenerResourceProfileAdded), memory in MiB. */
export interface ResourceProfile {
  id: number;
  cores?: number;
  memoryMiB?: number;
  memoryOverheadMiB?: number;
  pysparkMemoryMiB?: number;
  offHeapMiB?: number;
}

/**
 * Anomalies a log may carry; each is reported on the record, none stops costing.
 * - `executor-removed-without-added`: ignored (no start to count from).
 * - `duplicate-executor-added`: the first one counts.
 * - `negative-duration`: an end before its start, clamped to zero.
 * - `out-of-order-timestamps`: an event older than one before it. ApplicationStart is not
 *   compared: its time is when the SparkContext started, taken before the events posted ahead
 *   of it (the driver's BlockManagerAdded, local mode's ExecutorAdded for `driver`).
 */
export type LogAnomaly = 'executor-removed-without-added' | 'duplicate-executor-added' | 'negative-duration' | 'out-of-order-timestamps' | 'malformed-lines' | 'truncated-last-line';

/** What cost needs from one application's event log, folded event by event. */
export class EventLogSummary {
  appId?: string;
  appName?: string;
  user?: string;
  start?: number;
  end?: number;
  /**
   * Newest time any event read carries (top-level Timestamps, and the task, stage, job and SQL
   * times at the end of the log): where an app without ApplicationEnd is costed to.
   */
  lastTimestamp?: number;
  sparkProperties: Record<string, string> = {};
  readonly profiles = new Map<number, ResourceProfile>();
  readonly executors = new Map<string, LoggedExecutor>();
  readonly anomalies = new Set<LogAnomaly>();
  private newest = -Infinity;

  /** Notes a time some event carries, skipped events included: it moves {@link lastTimestamp} only forward. */
  sawTime(time: number): void {
    if (this.lastTimestamp === undefined || time > this.lastTimestamp) this.lastTimestamp = time;
  }

  apply(type: WantedEvent, event: Record<string, unknown>): void {
    const timestamp = num(event.Timestamp);
    if (timestamp !== undefined) {
      if (timestamp < this.newest && type !== 'SparkListenerApplicationStart') this.anomalies.add('out-of-order-timestamps');
      this.newest = Math.max(this.newest, timestamp);
      this.sawTime(timestamp);
    }
    switch (type) {
      case 'SparkListenerApplicationStart':
        this.appId ??= str(event['App ID']);
        this.appName ??= str(event['App Name']);
        this.user ??= str(event.User);
        if (timestamp !== undefined) this.start = this.start === undefined ? timestamp : Math.min(this.start, timestamp);
        return;
      case 'SparkListenerApplicationEnd':
        if (timestamp !== undefined) this.end = Math.max(this.end ?? -Infinity, timestamp);
        return;
      case 'SparkListenerEnvironmentUpdate': {
        const props = event['Spark Properties'];
        // Spark 3 writes an object; some writers (and old history tools) a list of [key, value] pairs.
        const pairs = Array.isArray(props) ? props : props && typeof props === 'object' ? Object.entries(props) : [];
        for (const pair of pairs) if (Array.isArray(pair) && typeof pair[0] === 'string') this.sparkProperties[pair[0]] = String(pair[1]);
        return;
      }
      case 'SparkListenerResourceProfileAdded': {
        const id = num(event['Resource Profile Id']);
        if (id === undefined) return;
        const requests = (event['Executor Resource Requests'] ?? {}) as Record<string, { Amount?: unknown }>;
        const amount = (name: string) => num(requests[name]?.Amount);
        this.profiles.set(id, {
          id,
          ...defined('cores', amount('cores')),
          ...defined('memoryMiB', amount('memory')),
          ...defined('memoryOverheadMiB', amount('memoryOverhead')),
          ...defined('pysparkMemoryMiB', amount('pyspark.memory')),
          ...defined('offHeapMiB', amount('offHeap')),
        });
        return;
      }
      case 'SparkListenerExecutorAdded': {
        const id = str(event['Executor ID']);
        if (id === undefined || timestamp === undefined) return;
        if (this.executors.has(id)) {
          this.anomalies.add('duplicate-executor-added');
          return;
        }
        const info = (event['Executor Info'] ?? {}) as Record<string, unknown>;
        this.executors.set(id, {
          executorId: id,
          added: timestamp,
          resourceProfileId: num(info['Resource Profile Id']) ?? num(event['Resource Profile Id']) ?? 0,
          ...defined('totalCores', num(info['Total Cores'])),
          ...defined('host', str(info.Host)),
        });
        return;
      }
      case 'SparkListenerExecutorRemoved': {
        const id = str(event['Executor ID']);
        if (id === undefined || timestamp === undefined) return;
        const executor = this.executors.get(id);
        if (!executor) {
          this.anomalies.add('executor-removed-without-added');
          return;
        }
        if (executor.removed !== undefined) return;
        executor.removed = timestamp;
        const reason = str(event['Removed Reason']);
        if (reason) executor.removedReason = reason;
        return;
      }
    }
  }
}

function num(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
  return undefined;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : typeof value === 'number' ? String(value) : undefined;
}

function defined<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
