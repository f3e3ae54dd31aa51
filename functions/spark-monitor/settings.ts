import {
  DEFAULT_MONITOR_EVERY_SECONDS,
  DEFAULT_MONITOR_LEFTOVERS_ALERT,
  DEFAULT_MONITOR_QUOTA_BLOCKED_AFTER,
  DEFAULT_MONITOR_STUCK_AFTER,
  DEFAULT_MONITOR_TOP_N,
  loadConfig,
  type Config,
} from '../../shared/config.js';
import type { AlertFormat } from '../../shared/alerts/alert-payload.js';
import { DEFAULT_SETTINGS as JANITOR_DEFAULTS, settingsFromConfig as janitorSettingsFromConfig, type JanitorSettings } from '../janitor/settings.js';
import { parseTtl } from '../janitor/ttl.js';

/** spark-monitor's settings (SPARKFN_MONITOR_* and the alert variables in shared/config.ts). */
export interface MonitorSettings {
  /** Apps per top-N ranking and stuck apps listed one by one. */
  topN: number;
  /** A driver Running with no running executor this long (while executors fail or wait) is stuck. */
  stuckAfterMs: number;
  /** A submission parked by quota-retry this long is blocked. */
  quotaBlockedAfterMs: number;
  /** Leftovers older than 24 h of one kind above this many raise an alert. */
  leftoversAlert: number;
  /** The timer's period. */
  everyMs: number;
  /** Where alerts go; none: alerts are evaluated and logged, not sent. */
  alertUrl?: string;
  alertFormat: AlertFormat;
  /** log-viewer's base URL: alerts about an app link to `<base>/logs/<appId>`. */
  logViewerUrl?: string;
  /** janitor's settings: what a finished app is (TTLs, opt-outs) is janitor's to say. */
  janitor: JanitorSettings;
}

/** The documented defaults (tests and the demo start from them). */
export const DEFAULT_MONITOR_SETTINGS: MonitorSettings = {
  topN: DEFAULT_MONITOR_TOP_N,
  stuckAfterMs: parseTtl(DEFAULT_MONITOR_STUCK_AFTER) as number,
  quotaBlockedAfterMs: parseTtl(DEFAULT_MONITOR_QUOTA_BLOCKED_AFTER) as number,
  leftoversAlert: DEFAULT_MONITOR_LEFTOVERS_ALERT,
  everyMs: DEFAULT_MONITOR_EVERY_SECONDS * 1000,
  alertFormat: 'combined',
  janitor: JANITOR_DEFAULTS,
};

/** The settings a loaded Config describes (durations were checked when it loaded). */
export function monitorSettingsFromConfig(config: Config): MonitorSettings {
  const alertUrl = config.SPARKFN_MONITOR_ALERT_URL ?? config.SPARKFN_QUOTA_ALERT_URL;
  return {
    topN: config.SPARKFN_MONITOR_TOP_N,
    stuckAfterMs: parseTtl(config.SPARKFN_MONITOR_STUCK_AFTER, 'SPARKFN_MONITOR_STUCK_AFTER') as number,
    quotaBlockedAfterMs: parseTtl(config.SPARKFN_MONITOR_QUOTA_BLOCKED_AFTER, 'SPARKFN_MONITOR_QUOTA_BLOCKED_AFTER') as number,
    leftoversAlert: config.SPARKFN_MONITOR_LEFTOVERS_ALERT,
    everyMs: config.SPARKFN_MONITOR_EVERY_SECONDS * 1000,
    ...(alertUrl ? { alertUrl } : {}),
    alertFormat: config.SPARKFN_ALERT_FORMAT,
    ...(config.SPARKFN_LOG_VIEWER_URL ? { logViewerUrl: config.SPARKFN_LOG_VIEWER_URL } : {}),
    janitor: janitorSettingsFromConfig(config),
  };
}

let fromEnvironment: MonitorSettings | undefined;

/** The settings from the environment, read once per process (safe to lose). */
export function monitorSettingsFromEnvironment(): MonitorSettings {
  fromEnvironment ??= monitorSettingsFromConfig(loadConfig());
  return fromEnvironment;
}
