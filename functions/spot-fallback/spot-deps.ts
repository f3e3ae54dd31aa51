import type { Deps } from '../../shared/deps.js';
import type { SpotCluster } from './cluster.js';
import type { SpotSettings } from './settings.js';
import type { SpotStateCache } from './state-cache.js';

/** spot-fallback's deps: the shared ones plus its settings, its state cache and (when configured) the cluster. */
export interface SpotDeps extends Deps {
  settings: SpotSettings;
  cache: SpotStateCache;
  /** Absent when no cluster is configured: signals are then recorded but no pod can be looked up or changed. */
  cluster?: SpotCluster;
}
