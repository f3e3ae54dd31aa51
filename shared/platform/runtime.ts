import { loadConfig, type Config } from '../config.js';
import { systemClock } from '../clock.js';
import type { Deps } from '../deps.js';
import { createLogger } from '../logger.js';
import { Metrics } from '../metrics.js';
import { openStore } from '../store/open-store.js';

/**
 * The deps a host builds once per process from the configuration: store client, logger,
 * metrics, clock. Safe to lose (a cold start builds them again).
 */
export function createDeps(config: Config, overrides: Partial<Deps> = {}): Deps {
  return {
    store: overrides.store ?? openStore(config),
    clock: overrides.clock ?? systemClock,
    logger: overrides.logger ?? createLogger(config.SPARKFN_LOG_LEVEL),
    metrics: overrides.metrics ?? new Metrics(),
    ...(overrides.publisher ? { publisher: overrides.publisher } : {}),
    ...(overrides.signal ? { signal: overrides.signal } : {}),
  };
}

let cached: Deps | undefined;

/**
 * The DepsFactory every platform entry point uses: configuration from the environment, clients
 * built on the first invocation of a container and reused by later ones (safe to lose).
 * @example export const handler = lambdaHandler(fn, depsFromEnvironment);
 */
export const depsFromEnvironment = async ({ signal }: { signal?: AbortSignal }): Promise<Deps> => {
  cached ??= createDeps(loadConfig());
  return signal ? { ...cached, signal } : cached;
};
