import {
  DEFAULT_JANITOR_DRIVER_EXTRA_TTL,
  DEFAULT_JANITOR_EXCLUDE_NAMESPACES,
  DEFAULT_JANITOR_MAX_APPS,
  DEFAULT_JANITOR_ORPHAN_GRACE,
  DEFAULT_JANITOR_QPS,
  DEFAULT_JANITOR_SPARKAPP_TTL,
  DEFAULT_JANITOR_TTL,
  loadConfig,
  type Config,
} from '../../shared/config.js';
import { parseTtl, type Ttl } from './ttl.js';

/** janitor's settings (SPARKFN_JANITOR_* in shared/config.ts). */
export interface JanitorSettings {
  /** List and audit what would be deleted; delete nothing. */
  dryRun: boolean;
  /** Namespaces to clean; empty means every namespace not excluded. */
  namespaces: readonly string[];
  excludeNamespaces: readonly string[];
  /** TTL of an app without its own `sparkfn.io/ttl`. */
  defaultTtl: Ttl;
  /** Per-namespace TTLs over `defaultTtl`. */
  namespaceTtls: Readonly<Record<string, Ttl>>;
  /** How old every object of an app without driver or SparkApplication must be before it is deleted. */
  orphanGraceMs: number;
  /** How much longer than the rest the driver pod stays. */
  driverExtraMs: number;
  /** When finished SparkApplications are deleted; `forever` keeps them. */
  sparkAppTtl: Ttl;
  /** Apps cleaned per run at most. */
  maxApps: number;
  /** Client-side cap on API calls per second; 0 for none. */
  qps: number;
}

/** The documented defaults, which tests and the demo start from. */
export const DEFAULT_SETTINGS: JanitorSettings = {
  dryRun: false,
  namespaces: [],
  excludeNamespaces: DEFAULT_JANITOR_EXCLUDE_NAMESPACES,
  defaultTtl: parseTtl(DEFAULT_JANITOR_TTL),
  namespaceTtls: {},
  orphanGraceMs: parseTtl(DEFAULT_JANITOR_ORPHAN_GRACE) as number,
  driverExtraMs: parseTtl(DEFAULT_JANITOR_DRIVER_EXTRA_TTL) as number,
  sparkAppTtl: parseTtl(DEFAULT_JANITOR_SPARKAPP_TTL),
  maxApps: DEFAULT_JANITOR_MAX_APPS,
  qps: DEFAULT_JANITOR_QPS,
};

/** The settings a loaded Config describes (its durations were checked when it loaded). */
export function settingsFromConfig(config: Config): JanitorSettings {
  const namespaceTtls: Record<string, Ttl> = {};
  for (const pair of config.SPARKFN_JANITOR_NAMESPACE_TTLS) {
    const [namespace, ttl] = pair.split('=') as [string, string];
    namespaceTtls[namespace] = parseTtl(ttl, `SPARKFN_JANITOR_NAMESPACE_TTLS entry for ${namespace}`);
  }
  return {
    dryRun: config.SPARKFN_JANITOR_DRY_RUN || config.SPARKFN_DRY_RUN,
    namespaces: config.SPARKFN_JANITOR_NAMESPACES,
    excludeNamespaces: config.SPARKFN_JANITOR_EXCLUDE_NAMESPACES,
    defaultTtl: parseTtl(config.SPARKFN_JANITOR_TTL, 'SPARKFN_JANITOR_TTL'),
    namespaceTtls,
    orphanGraceMs: parseTtl(config.SPARKFN_JANITOR_ORPHAN_GRACE, 'SPARKFN_JANITOR_ORPHAN_GRACE') as number,
    driverExtraMs: parseTtl(config.SPARKFN_JANITOR_DRIVER_EXTRA_TTL, 'SPARKFN_JANITOR_DRIVER_EXTRA_TTL') as number,
    sparkAppTtl: parseTtl(config.SPARKFN_JANITOR_SPARKAPP_TTL, 'SPARKFN_JANITOR_SPARKAPP_TTL'),
    maxApps: config.SPARKFN_JANITOR_MAX_APPS,
    qps: config.SPARKFN_JANITOR_QPS,
  };
}

let fromEnvironment: JanitorSettings | undefined;

/** The settings from the environment, read once per process (safe to lose). */
export function settingsFromEnvironment(): JanitorSettings {
  fromEnvironment ??= settingsFromConfig(loadConfig());
  return fromEnvironment;
}

/** Whether janitor may look at `namespace` at all. */
export function namespaceInScope(settings: Pick<JanitorSettings, 'namespaces' | 'excludeNamespaces'>, namespace: string): boolean {
  if (settings.excludeNamespaces.includes(namespace)) return false;
  return settings.namespaces.length === 0 || settings.namespaces.includes(namespace);
}
