import {
  DEFAULT_SPOT_ADMISSION_TIMEOUT_MS,
  DEFAULT_SPOT_APP_RECLAIM_LIMIT,
  DEFAULT_SPOT_CACHE_TTL_MS,
  DEFAULT_SPOT_MAX_OPEN_TTL_SECONDS,
  DEFAULT_SPOT_OPEN_THRESHOLD,
  DEFAULT_SPOT_OPEN_TTL_SECONDS,
  DEFAULT_SPOT_PROBE_TIMEOUT_SECONDS,
  DEFAULT_SPOT_RECYCLE_GRACE_SECONDS,
  DEFAULT_SPOT_RECYCLES_PER_APP,
  DEFAULT_SPOT_SIGNAL_WINDOW_SECONDS,
  type Config,
} from '../../shared/config.js';

/** spot-fallback's own settings (SPARKFN_SPOT_* in shared/config.ts), times in milliseconds. */
export interface SpotSettings {
  openThreshold: number;
  signalWindowMs: number;
  openTtlMs: number;
  maxOpenTtlMs: number;
  probeTimeoutMs: number;
  fallbackAnnotation: boolean;
  recycleGraceMs: number;
  recyclesPerApp: number;
  evictOnReclaim: boolean;
  appReclaimLimit: number;
  admissionTimeoutMs: number;
  cacheTtlMs: number;
  /** vSwitch id → zone; a vSwitch not listed is its own breaker location. */
  vswitchZones: Readonly<Record<string, string>>;
  dryRun: boolean;
  /** When set, the admission route takes only `Authorization: Bearer <token>` (the apiserver's webhook kubeconfig sends it). */
  admissionToken?: string;
  /**
   * When set, the admission route takes only requests whose TLS client certificate `sparkfn serve`
   * verified against SPARKFN_ADMISSION_CLIENT_CA_FILE, naming one of `names` (any name when empty).
   */
  admissionClientCertificate?: { names: readonly string[] };
}

/** The documented defaults. */
export const DEFAULT_SPOT_SETTINGS: SpotSettings = {
  openThreshold: DEFAULT_SPOT_OPEN_THRESHOLD,
  signalWindowMs: DEFAULT_SPOT_SIGNAL_WINDOW_SECONDS * 1000,
  openTtlMs: DEFAULT_SPOT_OPEN_TTL_SECONDS * 1000,
  maxOpenTtlMs: DEFAULT_SPOT_MAX_OPEN_TTL_SECONDS * 1000,
  probeTimeoutMs: DEFAULT_SPOT_PROBE_TIMEOUT_SECONDS * 1000,
  fallbackAnnotation: true,
  recycleGraceMs: DEFAULT_SPOT_RECYCLE_GRACE_SECONDS * 1000,
  recyclesPerApp: DEFAULT_SPOT_RECYCLES_PER_APP,
  evictOnReclaim: false,
  appReclaimLimit: DEFAULT_SPOT_APP_RECLAIM_LIMIT,
  admissionTimeoutMs: DEFAULT_SPOT_ADMISSION_TIMEOUT_MS,
  cacheTtlMs: DEFAULT_SPOT_CACHE_TTL_MS,
  vswitchZones: {},
  dryRun: false,
};

/** `vsw-a=cn-hangzhou-h,vsw-b=cn-hangzhou-i` as a map (the config schema has checked the shape). */
export function parseVswitchZones(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of (text ?? '').split(',')) {
    const [vswitch, zone] = pair.trim().split('=');
    if (vswitch && zone) out[vswitch] = zone;
  }
  return out;
}

/** The settings a loaded Config describes. */
export function spotSettingsFromConfig(config: Config): SpotSettings {
  return {
    openThreshold: config.SPARKFN_SPOT_OPEN_THRESHOLD,
    signalWindowMs: config.SPARKFN_SPOT_SIGNAL_WINDOW_SECONDS * 1000,
    openTtlMs: config.SPARKFN_SPOT_OPEN_TTL_SECONDS * 1000,
    maxOpenTtlMs: Math.max(config.SPARKFN_SPOT_MAX_OPEN_TTL_SECONDS, config.SPARKFN_SPOT_OPEN_TTL_SECONDS) * 1000,
    probeTimeoutMs: config.SPARKFN_SPOT_PROBE_TIMEOUT_SECONDS * 1000,
    fallbackAnnotation: config.SPARKFN_SPOT_FALLBACK_ANNOTATION,
    recycleGraceMs: config.SPARKFN_SPOT_RECYCLE_GRACE_SECONDS * 1000,
    recyclesPerApp: config.SPARKFN_SPOT_RECYCLES_PER_APP,
    evictOnReclaim: config.SPARKFN_SPOT_EVICT_ON_RECLAIM,
    appReclaimLimit: config.SPARKFN_SPOT_APP_RECLAIM_LIMIT,
    admissionTimeoutMs: config.SPARKFN_SPOT_ADMISSION_TIMEOUT_MS,
    cacheTtlMs: config.SPARKFN_SPOT_CACHE_TTL_MS,
    vswitchZones: parseVswitchZones(config.SPARKFN_SPOT_VSWITCH_ZONES),
    dryRun: config.SPARKFN_DRY_RUN,
    ...(config.SPARKFN_ADMISSION_TOKEN ? { admissionToken: config.SPARKFN_ADMISSION_TOKEN } : {}),
    ...(config.SPARKFN_ADMISSION_CLIENT_CA_FILE ? { admissionClientCertificate: { names: config.SPARKFN_ADMISSION_CLIENT_NAMES } } : {}),
  };
}
