import {
  DEFAULT_ARCHIVER_COMPACT_IDLE_SECONDS,
  DEFAULT_ARCHIVER_GZIP_LEVEL,
  DEFAULT_ARCHIVER_IDENTITY_ORDER,
  DEFAULT_ARCHIVER_KEY_TEMPLATE,
  DEFAULT_ARCHIVER_MAX_LINE_BYTES,
  DEFAULT_KAFKA_MAX_RECORD_ATTEMPTS,
  loadConfig,
  type Config,
} from '../../shared/config.js';
import { parseKeyTemplate, type KeyTemplate } from './key-template.js';

/** Where an app and executor id may come from, tried in the configured order. */
export type IdentitySource = 'key' | 'fields' | 'labels';

/** log-archiver's own settings (SPARKFN_ARCHIVER_* in shared/config.ts). */
export interface ArchiverSettings {
  keyTemplate: KeyTemplate;
  identityOrder: readonly IdentitySource[];
  /** Longest `message` kept whole, in UTF-8 bytes. */
  maxLineBytes: number;
  /** An executor with no chunk newer than this is compacted by the timer. */
  compactIdleMs: number;
  gzipLevel: number;
  /** Writes of one object tried before its records are dead-lettered as `write-failed` (SPARKFN_KAFKA_MAX_RECORD_ATTEMPTS). */
  maxRecordAttempts: number;
  /** First wait before a failed write is tried again (default RETRY_BASE_DELAY_MS); not configurable, tests make it small. */
  retryBaseDelayMs?: number;
  /** Largest text of one gzip member (default MAX_MEMBER_TEXT_BYTES); not configurable, tests make it small. */
  maxMemberTextBytes?: number;
}

/** The settings every test and the demo start from: the documented defaults. */
export const DEFAULT_SETTINGS: ArchiverSettings = {
  keyTemplate: parseKeyTemplate(DEFAULT_ARCHIVER_KEY_TEMPLATE),
  identityOrder: DEFAULT_ARCHIVER_IDENTITY_ORDER,
  maxLineBytes: DEFAULT_ARCHIVER_MAX_LINE_BYTES,
  compactIdleMs: DEFAULT_ARCHIVER_COMPACT_IDLE_SECONDS * 1000,
  gzipLevel: DEFAULT_ARCHIVER_GZIP_LEVEL,
  maxRecordAttempts: DEFAULT_KAFKA_MAX_RECORD_ATTEMPTS,
};

/** The settings a loaded Config describes. */
export function settingsFromConfig(config: Config): ArchiverSettings {
  return {
    keyTemplate: parseKeyTemplate(config.SPARKFN_ARCHIVER_KEY_TEMPLATE),
    identityOrder: config.SPARKFN_ARCHIVER_IDENTITY_ORDER,
    maxLineBytes: config.SPARKFN_ARCHIVER_MAX_LINE_BYTES,
    compactIdleMs: config.SPARKFN_ARCHIVER_COMPACT_IDLE_SECONDS * 1000,
    gzipLevel: config.SPARKFN_ARCHIVER_GZIP_LEVEL,
    maxRecordAttempts: config.SPARKFN_KAFKA_MAX_RECORD_ATTEMPTS,
  };
}

let fromEnvironment: ArchiverSettings | undefined;

/** The settings from the environment, read once per process (safe to lose). */
export function settingsFromEnvironment(): ArchiverSettings {
  fromEnvironment ??= settingsFromConfig(loadConfig());
  return fromEnvironment;
}

/** `overrides` over the environment's settings: what `run` uses when a caller passes some. */
export function resolveSettings(overrides?: Partial<ArchiverSettings>): ArchiverSettings {
  if (!overrides) return settingsFromEnvironment();
  return { ...settingsFromEnvironment(), ...overrides };
}
