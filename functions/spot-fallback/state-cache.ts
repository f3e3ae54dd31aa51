import type { Logger } from 'pino';
import type { Clock } from '../../shared/clock.js';
import { errorMessage } from '../../shared/errors.js';
import type { Metrics } from '../../shared/metrics.js';
import type { ObjectStore } from '../../shared/store/object-store.js';
import { addFact, type BodyCache, loadFacts } from './load-facts.js';
import type { SpotSettings } from './settings.js';
import { breakerState } from './spot-breaker.js';
import { spotMetrics } from './spot-metrics.js';
import { deriveState, type FactSet, prunableKeys, type SpotState, splitBreakerId } from './spot-state.js';

/** A stale copy is still served (while a refresh runs) for up to this many TTLs; older ones are waited for. */
const STALE_FACTOR = 15;

/** What a read needs: where the facts are, where to log, where to report breaker states. */
export interface StateReader {
  store: ObjectStore;
  logger: Logger;
  metrics: Metrics;
}

type Timing = Pick<SpotSettings, 'openThreshold' | 'signalWindowMs' | 'openTtlMs' | 'maxOpenTtlMs' | 'probeTimeoutMs' | 'cacheTtlMs'>;

/**
 * This process's copy of spot-fallback's facts and the state they add up to, safe to lose. A
 * copy younger than the TTL is used as is; an older one is used while one refresh runs in the
 * background (stale-while-revalidate), so a webhook call waits on the store only when this
 * process has no copy at all. Facts this process writes count at once (`note`). Each refresh
 * also sets the breaker gauges from the whole state and prunes facts that no longer matter.
 */
export class SpotStateCache {
  private facts: FactSet | undefined;
  private derived: SpotState | undefined;
  private loadedAt = 0;
  private loading: Promise<SpotState> | undefined;
  private readonly bodies: BodyCache = new Map();
  /** Facts written here, by write order, until a listing that started after them has them. */
  private readonly notes = new Map<string, { value: unknown; seq: number }>();
  private seq = 0;
  private pruning: Promise<void> = Promise.resolve();
  /** Probe claims whose holder pod was seen in the cluster. */
  readonly confirmedClaims = new Set<string>();

  constructor(
    private readonly settings: Timing,
    private readonly clock: Clock,
  ) {}

  /** The state, from the copy when it is fresh enough (see the class). */
  state(reader: StateReader): Promise<SpotState> {
    const age = this.clock.now() - this.loadedAt;
    if (this.derived && age < this.settings.cacheTtlMs) return Promise.resolve(this.derived);
    const loading = this.refresh(reader);
    if (this.derived && age < this.settings.cacheTtlMs * STALE_FACTOR) {
      loading.catch((err: unknown) => reader.logger.warn({ err: errorMessage(err) }, 'spot state refresh failed; serving the cached copy'));
      return Promise.resolve(this.derived);
    }
    return loading;
  }

  /** Reads every fact again now (one refresh at a time). */
  refresh(reader: StateReader): Promise<SpotState> {
    this.loading ??= this.load(reader).finally(() => {
      this.loading = undefined;
    });
    return this.loading;
  }

  /** The state as this process knows it now, without reading (undefined before the first read). */
  current(): SpotState | undefined {
    return this.derived;
  }

  /** Resolves once the latest roll-up's deletes are done (for a host that shuts down, and tests). */
  pruned(): Promise<void> {
    return this.pruning;
  }

  /** This process wrote `value` at `key`: it counts from now on. Returns the state with it. */
  note(key: string, value: unknown): SpotState | undefined {
    this.notes.set(key, { value, seq: ++this.seq });
    if (!this.facts) return undefined;
    addFact(this.facts, key, value);
    this.derived = deriveState(this.facts, this.settings);
    return this.derived;
  }

  private async load(reader: StateReader): Promise<SpotState> {
    const startedAt = this.seq;
    const known = new Map([...this.notes].map(([key, note]) => [key, note.value]));
    const facts = await loadFacts(reader.store, reader.logger, this.bodies, known);
    for (const [key, note] of this.notes) {
      if (note.seq <= startedAt) this.notes.delete(key);
      else addFact(facts, key, note.value);
    }
    const derived = deriveState(facts, this.settings);
    this.facts = facts;
    this.derived = derived;
    this.loadedAt = this.clock.now();
    this.report(derived, reader.metrics);
    this.prune(facts, derived, reader);
    return derived;
  }

  private report(state: SpotState, metrics: Metrics): void {
    const m = spotMetrics(metrics);
    const now = this.clock.now();
    for (const [id, file] of state.breakers) {
      if (!file.capacity.spot) continue;
      const { location, spec } = splitBreakerId(id);
      m.breaker(location, spec, breakerState(file.capacity.spot, now));
    }
  }

  /** Deletes facts that no longer matter, in the background; idempotent, so instances may do it at once. */
  private prune(facts: FactSet, state: SpotState, reader: StateReader): void {
    const keys = prunableKeys(facts, state, this.clock.now(), this.settings);
    if (keys.length === 0) return;
    this.pruning = reader.store
      .deleteMany(keys)
      .then(() => reader.logger.info({ pruned: keys.length }, 'spot-fallback facts rolled up: pruned those that no longer matter'))
      .catch((err: unknown) => reader.logger.warn({ err: errorMessage(err) }, 'could not prune spot-fallback facts; the next refresh tries again'));
  }
}
