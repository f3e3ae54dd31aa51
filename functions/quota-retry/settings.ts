import {
  DEFAULT_QUOTA_BACKOFF_BASE_MS,
  DEFAULT_QUOTA_BACKOFF_CAP_MS,
  DEFAULT_QUOTA_DEADLINE_SECONDS,
  DEFAULT_QUOTA_DRAIN_EVERY_SECONDS,
  DEFAULT_QUOTA_MAX_ATTEMPTS,
  loadConfig,
  type Config,
} from '../../shared/config.js';
import type { WebhookAuthOptions } from '../../shared/http/webhook-auth.js';
import type { BackoffPolicy } from './backoff.js';

/** Key of SPARKFN_QUOTA_DEPARTMENT_CAPS that caps every department not named. */
export const ANY_DEPARTMENT = '*';

/** quota-retry's settings (SPARKFN_QUOTA_* in shared/config.ts, plus the webhook secrets and dry-run). */
export interface QuotaRetrySettings {
  backoff: BackoffPolicy;
  /** How long a queued submission may wait when it names no deadline. */
  defaultDeadlineMs: number;
  drainEveryMs: number;
  /** Most running drivers per department a drain admits into; `*` for the rest. */
  departmentCaps: ReadonlyMap<string, number>;
  /** Let smaller entries pass one that does not fit (off: strict FIFO within a priority). */
  backfill: boolean;
  alertUrl?: string;
  dryRun: boolean;
  webhookAuth: WebhookAuthOptions;
}

/** The documented defaults, with no webhook credentials (every webhook call is refused). */
export const DEFAULT_SETTINGS: QuotaRetrySettings = {
  backoff: { baseMs: DEFAULT_QUOTA_BACKOFF_BASE_MS, capMs: DEFAULT_QUOTA_BACKOFF_CAP_MS, maxAttempts: DEFAULT_QUOTA_MAX_ATTEMPTS },
  defaultDeadlineMs: DEFAULT_QUOTA_DEADLINE_SECONDS * 1000,
  drainEveryMs: DEFAULT_QUOTA_DRAIN_EVERY_SECONDS * 1000,
  departmentCaps: new Map(),
  backfill: false,
  dryRun: false,
  webhookAuth: {},
};

/** `analytics=20,etl=12` → Map. */
export function parseDepartmentCaps(pairs: readonly string[]): Map<string, number> {
  return new Map(
    pairs.map((pair) => {
      const [department, cap] = pair.split('=');
      return [department!, Number(cap)];
    }),
  );
}

/** The settings a loaded Config describes. */
export function settingsFromConfig(config: Config): QuotaRetrySettings {
  return {
    backoff: { baseMs: config.SPARKFN_QUOTA_BACKOFF_BASE_MS, capMs: config.SPARKFN_QUOTA_BACKOFF_CAP_MS, maxAttempts: config.SPARKFN_QUOTA_MAX_ATTEMPTS },
    defaultDeadlineMs: config.SPARKFN_QUOTA_DEADLINE_SECONDS * 1000,
    drainEveryMs: config.SPARKFN_QUOTA_DRAIN_EVERY_SECONDS * 1000,
    departmentCaps: parseDepartmentCaps(config.SPARKFN_QUOTA_DEPARTMENT_CAPS),
    backfill: config.SPARKFN_QUOTA_BACKFILL,
    ...(config.SPARKFN_QUOTA_ALERT_URL ? { alertUrl: config.SPARKFN_QUOTA_ALERT_URL } : {}),
    dryRun: config.SPARKFN_DRY_RUN,
    webhookAuth: {
      ...(config.SPARKFN_WEBHOOK_TOKEN ? { token: config.SPARKFN_WEBHOOK_TOKEN } : {}),
      ...(config.SPARKFN_WEBHOOK_HMAC_SECRET ? { hmacSecret: config.SPARKFN_WEBHOOK_HMAC_SECRET } : {}),
      maxAgeSeconds: config.SPARKFN_WEBHOOK_MAX_AGE_SECONDS,
    },
  };
}

let fromEnvironment: QuotaRetrySettings | undefined;

/** The settings from the environment, read once per process (safe to lose). */
export function settingsFromEnvironment(): QuotaRetrySettings {
  fromEnvironment ??= settingsFromConfig(loadConfig());
  return fromEnvironment;
}

/** `overrides` over the environment's settings. */
export function resolveSettings(overrides?: Partial<QuotaRetrySettings>): QuotaRetrySettings {
  return overrides ? { ...settingsFromEnvironment(), ...overrides } : settingsFromEnvironment();
}

/** The cap for `department`, if any. */
export function capFor(settings: QuotaRetrySettings, department: string | undefined): number | undefined {
  if (!department) return undefined;
  return settings.departmentCaps.get(department) ?? settings.departmentCaps.get(ANY_DEPARTMENT);
}
