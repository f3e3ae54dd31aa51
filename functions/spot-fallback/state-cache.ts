import type { Logger } from 'pino';
import type { Clock } from '../../shared/clock.js';
import { errorMessage } from '../../shared/errors.js';
import type { ObjectStore } from '../../shared/store/object-store.js';
import { type AppSpotState, readAppState } from './app-state.js';
import { type BreakerFile, breakerId, loadAllBreakers } from './breaker-store.js';

/** A stale copy is still served (while a refresh runs) for up to this many TTLs; older ones are waited for. */
const STALE_FACTOR = 15;

interface Entry<T> {
  value?: T;
  loadedAt: number;
  loading?: Promise<T>;
}

/**
 * The admission path's in-memory copy of breaker and app state, safe to lose. A copy younger
 * than the TTL is used as is; an older one is used while one refresh runs in the background
 * (stale-while-revalidate), so a webhook call waits on the store only when this process has
 * no copy at all. Writes made by this process update the copy at once.
 */
export class SpotStateCache {
  private breakers: Entry<Map<string, BreakerFile>> = { loadedAt: 0 };
  private readonly apps = new Map<string, Entry<AppSpotState>>();

  constructor(
    private readonly ttlMs: number,
    private readonly clock: Clock,
  ) {}

  /** Every stored breaker, keyed `<location>/<spec>`. */
  allBreakers(store: ObjectStore, logger: Logger): Promise<Map<string, BreakerFile>> {
    return this.read(this.breakers, () => loadAllBreakers(store, logger), logger, 'breakers');
  }

  appState(store: ObjectStore, logger: Logger, namespace: string, appId: string): Promise<AppSpotState> {
    const id = `${namespace}/${appId}`;
    let entry = this.apps.get(id);
    if (!entry) {
      entry = { loadedAt: 0 };
      this.apps.set(id, entry);
    }
    return this.read(entry, () => readAppState(store, namespace, appId), logger, 'app');
  }

  /** This process wrote `file`: later reads see it without a round trip. */
  noteBreaker(file: BreakerFile): void {
    const value = this.breakers.value ?? new Map<string, BreakerFile>();
    value.set(breakerId(file.location, file.spec), file);
    this.breakers.value = value;
  }

  noteApp(namespace: string, appId: string, state: AppSpotState): void {
    const entry = this.apps.get(`${namespace}/${appId}`);
    this.apps.set(`${namespace}/${appId}`, { ...entry, value: state, loadedAt: entry?.loadedAt ?? this.clock.now() });
  }

  private read<T>(entry: Entry<T>, load: () => Promise<T>, logger: Logger, what: string): Promise<T> {
    const age = this.clock.now() - entry.loadedAt;
    if (entry.value !== undefined && age < this.ttlMs) return Promise.resolve(entry.value);
    entry.loading ??= load()
      .then((value) => {
        entry.value = value;
        entry.loadedAt = this.clock.now();
        return value;
      })
      .finally(() => {
        entry.loading = undefined;
      });
    if (entry.value !== undefined && age < this.ttlMs * STALE_FACTOR) {
      entry.loading.catch((err: unknown) => logger.warn({ what, err: errorMessage(err) }, 'spot state refresh failed; serving the cached copy'));
      return Promise.resolve(entry.value);
    }
    return entry.loading;
  }
}
