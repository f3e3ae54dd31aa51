import { DEFAULT_COST_EVENT_LOG_PREFIX, DEFAULT_COST_TEAM_LABELS, loadConfig, type Config } from '../../shared/config.js';
import { loadPriceFile, type PriceFile } from './price-file.js';

/** job-cost's settings (SPARKFN_COST_* in shared/config.ts). */
export interface CostSettings {
  /** Key prefix of Spark event logs in the store, ending in `/` (or empty: the store's root). */
  eventLogPrefix: string;
  /** Validated prices, or undefined: records then carry resources without money. */
  prices?: PriceFile;
  /** Price-file region to use instead of its defaultRegion. */
  region?: string;
  teamLabels: readonly string[];
  /** Kafka topic each record is also published to (with a publisher in deps). */
  kafkaTopic?: string;
}

export const DEFAULT_SETTINGS: CostSettings = {
  eventLogPrefix: DEFAULT_COST_EVENT_LOG_PREFIX,
  teamLabels: DEFAULT_COST_TEAM_LABELS,
};

/** A prefix ending in `/`, as key joins expect. */
export function normalizePrefix(prefix: string): string {
  return prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`;
}

// The price file is read once per container: a cold start reads it again (safe to lose).
let cached: { path: string; prices: Promise<PriceFile> } | undefined;

/** Settings from a loaded Config, reading (once) and validating the price file it names. */
export async function settingsFromConfig(config: Config): Promise<CostSettings> {
  const path = config.SPARKFN_COST_PRICE_FILE;
  if (path && cached?.path !== path) cached = { path, prices: loadPriceFile(path) };
  if (cached && path) cached.prices.catch(() => (cached = undefined));
  return {
    eventLogPrefix: normalizePrefix(config.SPARKFN_COST_EVENT_LOG_PREFIX),
    teamLabels: config.SPARKFN_COST_TEAM_LABELS,
    ...(path ? { prices: await cached!.prices } : {}),
    ...(config.SPARKFN_COST_KAFKA_TOPIC ? { kafkaTopic: config.SPARKFN_COST_KAFKA_TOPIC } : {}),
  };
}

/** Settings for one run: explicit overrides (tests, the demo) win, else the environment's. */
export async function resolveSettings(overrides?: Partial<CostSettings>): Promise<CostSettings> {
  if (overrides && 'eventLogPrefix' in overrides && 'teamLabels' in overrides) return { ...DEFAULT_SETTINGS, ...overrides } as CostSettings;
  const base = await settingsFromConfig(loadConfig());
  return { ...base, ...(overrides ?? {}) };
}
