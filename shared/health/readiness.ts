import type { Logger } from 'pino';
import { SparkfnError } from '../errors.js';
import type { Metrics } from '../metrics.js';

/**
 * 3 minutes: longer than a broker's rolling restart or an apiserver upgrade keeps a healthy
 * part away (about a minute each), short enough that a part that will not come back is
 * restarted by its supervisor long before its lag hurts (Kafka keeps logs for days).
 */
export const DEFAULT_UNREADY_EXIT_SECONDS = 180;
/** The reason of a part that has not reported yet. */
const STARTING = 'starting';
/** How often the registry looks for a part that has been down longer than the window. */
const EXPIRY_CHECK_MS = 1_000;

/** A part that stayed down past the window: the process must end non-zero so that it is restarted. */
export class ComponentDownError extends SparkfnError {
  constructor(
    readonly component: string,
    readonly reason: string,
    windowSeconds: number,
  ) {
    super(`The ${component} part has been down for more than ${windowSeconds} s (${reason}); exiting so that the supervisor restarts the process.`);
    this.name = 'ComponentDownError';
  }
}

/** One part's state as /readyz shows it. */
export interface ComponentState {
  up: boolean;
  /** ISO time of the last change of state. */
  since: string;
  /** Why it is down: a short phrase safe to show to anyone who can reach /readyz. */
  reason?: string;
}

/** What a part reports through. */
export interface ComponentReporter {
  /** The part works. */
  up(): void;
  /**
   * The part does not work. `reason` is shown on /readyz; `detail` (an error message that may
   * name hosts or buckets) only goes to the log.
   */
  down(reason: string, detail?: string): void;
  /**
   * For parts whose silence is the only sign of trouble (a consumer whose broker vanished):
   * marks it up, and down with `reason` unless `beat` is called again within `staleAfterMs`.
   */
  beat(staleAfterMs: number, reason: string): void;
}

export interface ReadinessOptions {
  logger: Logger;
  metrics: Metrics;
  /** A part down longer than this ends the process (`failed` rejects with ComponentDownError). */
  exitAfterSeconds: number;
  now?: () => number;
}

interface Entry {
  up: boolean;
  since: number;
  reason?: string;
  stale?: NodeJS.Timeout;
}

/**
 * Every part the process was configured to run (Kafka consumer, watches, store, TLS), each
 * reporting whether it works. /readyz is ready when all are up; `sparkfn_component_up` shows
 * each; a change of state is logged once (not every retry); a part down past
 * `exitAfterSeconds` rejects `failed`, and `sparkfn serve` then exits 1 so that its supervisor
 * restarts it. Parts start down ("starting") until they first report up.
 * @example
 * const readiness = new Readiness({ logger, metrics, exitAfterSeconds: 180 });
 * const store = readiness.component('store');
 * store.down('the store probe failed', errorMessage(err));
 */
export class Readiness {
  /** Rejects with ComponentDownError when a part stayed down past the window; never resolves. */
  readonly failed: Promise<never>;
  private readonly parts = new Map<string, Entry>();
  private readonly gauge;
  private readonly now: () => number;
  private readonly checker: NodeJS.Timeout;
  private fail!: (err: Error) => void;
  private closed = false;

  constructor(private readonly options: ReadinessOptions) {
    this.now = options.now ?? Date.now;
    this.gauge = options.metrics.gauge('component_up', 'Whether each part the process was configured to run works (1) or not (0).', ['component']);
    this.failed = new Promise<never>((_resolve, reject) => (this.fail = reject));
    this.failed.catch(() => {});
    this.checker = setInterval(() => this.checkExpiry(), EXPIRY_CHECK_MS);
    this.checker.unref();
  }

  /** Registers a part (down, "starting", until it reports) and returns its reporter. */
  component(name: string): ComponentReporter {
    if (!this.parts.has(name)) {
      this.parts.set(name, { up: false, since: this.now(), reason: STARTING });
      this.gauge.set({ component: name }, 0);
    }
    const set = (up: boolean, reason?: string, detail?: string) => this.set(name, up, reason, detail);
    return {
      up: () => {
        this.clearStale(name);
        set(true);
      },
      down: (reason, detail) => {
        this.clearStale(name);
        set(false, reason, detail);
      },
      beat: (staleAfterMs, reason) => {
        const entry = this.parts.get(name);
        if (!entry) return;
        clearTimeout(entry.stale);
        entry.stale = setTimeout(() => set(false, reason), staleAfterMs);
        entry.stale.unref();
        set(true);
      },
    };
  }

  /**
   * Forgets a part: it no longer counts for readiness nor shows in /readyz. For parts that run
   * only at times, such as the watches a replica runs while it leads (a follower is not unready).
   */
  remove(name: string): void {
    const entry = this.parts.get(name);
    if (!entry) return;
    clearTimeout(entry.stale);
    this.parts.delete(name);
    this.gauge.remove({ component: name });
  }

  /** True when every registered part is up. */
  get ready(): boolean {
    return [...this.parts.values()].every((p) => p.up);
  }

  /** Each part's state, by name, for /readyz. */
  snapshot(): Record<string, ComponentState> {
    const out: Record<string, ComponentState> = {};
    for (const [name, p] of [...this.parts].sort(([a], [b]) => a.localeCompare(b))) {
      out[name] = { up: p.up, since: new Date(p.since).toISOString(), ...(p.up ? {} : { reason: p.reason ?? 'down' }) };
    }
    return out;
  }

  /** Stops the timers; `failed` no longer rejects. */
  close(): void {
    this.closed = true;
    clearInterval(this.checker);
    for (const p of this.parts.values()) clearTimeout(p.stale);
    this.fail = () => {};
  }

  private clearStale(name: string): void {
    const entry = this.parts.get(name);
    if (entry?.stale) clearTimeout(entry.stale);
  }

  private set(name: string, up: boolean, reason?: string, detail?: string): void {
    const entry = this.parts.get(name);
    // A removed part's reporter may still report (a watch stopping): ignored.
    if (this.closed || !entry) return;
    const wasStarting = !entry.up && entry.reason === STARTING;
    const flipped = entry.up !== up;
    // A part that stays down keeps its latest reason, but only a change of state is logged: a retry loop adds no lines.
    entry.reason = up ? undefined : reason;
    if (!flipped && !wasStarting) return;
    entry.up = up;
    // From "starting" to down is no new outage: the window keeps counting from the start.
    if (flipped) entry.since = this.now();
    this.gauge.set({ component: name }, up ? 1 : 0);
    const { logger } = this.options;
    if (up) logger.info({ component: name }, `${name} is up`);
    else logger.warn({ component: name, reason, ...(detail ? { detail } : {}) }, `${name} is down: ${reason}`);
  }

  private checkExpiry(): void {
    const windowMs = this.options.exitAfterSeconds * 1000;
    for (const [name, p] of this.parts) {
      if (!p.up && this.now() - p.since > windowMs) {
        const err = new ComponentDownError(name, p.reason ?? 'down', this.options.exitAfterSeconds);
        this.options.logger.fatal({ component: name, reason: p.reason }, err.message);
        this.fail(err);
        this.close();
        return;
      }
    }
  }
}
