import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Prefix of every metric we export. */
export const METRIC_PREFIX = 'sparkfn_';

/**
 * Prometheus metrics for one process, on their own registry (never prom-client's global one,
 * so tests and several servers in one process do not collide). Getters create a metric on
 * first use and return the same one afterwards, so cores can ask for what they need.
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly made = new Map<string, Counter | Gauge | Histogram>();
  private processMetrics = false;

  /**
   * Adds prom-client's default process and Node.js metrics (`process_resident_memory_bytes`,
   * `process_cpu_seconds_total`, `nodejs_eventloop_lag_seconds`, open fds, heap…) under their
   * usual names, so stock dashboards and alerts work. Idempotent; only long-running hosts
   * (`sparkfn serve`) call it.
   */
  collectProcessMetrics(): void {
    if (this.processMetrics) return;
    this.processMetrics = true;
    collectDefaultMetrics({ register: this.registry });
  }

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    return this.getOrMake(name, () => new Counter({ name: METRIC_PREFIX + name, help, labelNames, registers: [this.registry] })) as Counter;
  }

  gauge(name: string, help: string, labelNames: readonly string[] = []): Gauge {
    return this.getOrMake(name, () => new Gauge({ name: METRIC_PREFIX + name, help, labelNames, registers: [this.registry] })) as Gauge;
  }

  histogram(name: string, help: string, labelNames: readonly string[] = [], buckets?: number[]): Histogram {
    return this.getOrMake(
      name,
      () => new Histogram({ name: METRIC_PREFIX + name, help, labelNames, registers: [this.registry], ...(buckets ? { buckets } : {}) }),
    ) as Histogram;
  }

  /** Prometheus text exposition format. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private getOrMake(name: string, make: () => Counter | Gauge | Histogram) {
    let metric = this.made.get(name);
    if (!metric) {
      metric = make();
      this.made.set(name, metric);
    }
    return metric;
  }
}
