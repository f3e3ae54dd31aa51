import * as z from 'zod';
import { ConfigError } from './errors.js';
import { DEFAULT_BODY_LIMIT_BYTES, DEFAULT_BODY_MEMORY_BYTES, DEFAULT_BODY_TIMEOUT_MS, DEFAULT_HEADERS_TIMEOUT_MS, DEFAULT_MAX_CONNECTIONS, DEFAULT_REQUEST_TIMEOUT_MS } from './http/edge-limits.js';
import { DEFAULT_KEEP_ALIVE_TIMEOUT_MS } from './http/edge-limits.js';
import { DEFAULT_UNREADY_EXIT_SECONDS } from './health/readiness.js';
import { DEFAULT_WEBHOOK_MAX_AGE_SECONDS } from './http/timed-signature.js';

/** Where the embedded default store lives: `npm start` writes here, relative to the working directory. */
export const DEFAULT_STORE = 'file://.sparkfn-data';
/** Port of `sparkfn serve` when neither --port nor SPARKFN_PORT says otherwise. */
export const DEFAULT_PORT = 8080;
/** Re-exported from shared/http/edge-limits.ts, where the server's other limits live. */
export { DEFAULT_BODY_LIMIT_BYTES };
/** Filebeat's `output.kafka.key` we document: `%{[fields.app_type]}/%{[fields.app_id]}/%{[fields.executor_id]}`. */
export const DEFAULT_ARCHIVER_KEY_TEMPLATE = '<appType>/<appId>/<executorId>';
/** Where log-archiver looks for an app and executor id, first match wins (issue 3's order). */
export const DEFAULT_ARCHIVER_IDENTITY_ORDER = ['key', 'fields', 'labels'] as const;
/** 1 MiB: just above what Filebeat's Kafka output sends at most (`max_message_bytes`, 1,000,000 bytes by default), so only lines that slipped past it are cut. */
export const DEFAULT_ARCHIVER_MAX_LINE_BYTES = 1024 * 1024;
/** An executor that wrote nothing for 30 minutes is done, or nearly: its chunks are compacted by the timer. */
export const DEFAULT_ARCHIVER_COMPACT_IDLE_SECONDS = 30 * 60;
/** zlib's default level: within a few percent of level 9's ratio on log text at a fraction of its CPU. */
export const DEFAULT_ARCHIVER_GZIP_LEVEL = 6;
/**
 * 5 writes of one object (waits of 0.1, 0.2, 0.4 and 0.8 s between them) before its records are
 * dead-lettered: a store that blips recovers within that, a key that fails five times in a row
 * while other writes succeed is not going to work, and the batch still ends in under 2 s.
 */
export const DEFAULT_KAFKA_MAX_RECORD_ATTEMPTS = 5;
/** One stock-out signal opens a spot breaker: ECI reports a zone out of stock only after it tried (Karpenter marks an offering unavailable on the first error too). */
export const DEFAULT_SPOT_OPEN_THRESHOLD = 1;
/** Signals older than 5 minutes no longer count towards the threshold: ECI re-checks spot stock every 5 minutes. */
export const DEFAULT_SPOT_SIGNAL_WINDOW_SECONDS = 5 * 60;
/** 3 minutes: Karpenter's unavailable-offerings cache TTL. */
export const DEFAULT_SPOT_OPEN_TTL_SECONDS = 3 * 60;
/** 30 minutes: cluster-autoscaler's longest node-group backoff (max-node-group-backoff-duration). */
export const DEFAULT_SPOT_MAX_OPEN_TTL_SECONDS = 30 * 60;
/** A probe pod that neither ran nor failed within 5 minutes (ECI creates in about one) frees the probe slot. */
export const DEFAULT_SPOT_PROBE_TIMEOUT_SECONDS = 5 * 60;
/** An executor Pending a minute after a stock-out is not going to start soon: recycle it. */
export const DEFAULT_SPOT_RECYCLE_GRACE_SECONDS = 60;
/** At most 5 recycles per app in 10 minutes, so a flapping zone cannot churn an app's executors. */
export const DEFAULT_SPOT_RECYCLES_PER_APP = 5;
/** After 3 spot reclaims an app's later executors go on-demand: a long job keeps losing work otherwise. */
export const DEFAULT_SPOT_APP_RECLAIM_LIMIT = 3;
/** 2 s: well inside the webhook's timeoutSeconds (deploy/ sets 5), so we answer before the apiserver gives up. */
export const DEFAULT_SPOT_ADMISSION_TIMEOUT_MS = 2000;
/** The admission path re-reads breaker state at most every 2 s; a signal reaches every instance within that. */
export const DEFAULT_SPOT_CACHE_TTL_MS = 2000;
/** One Lease for every singleton duty of `sparkfn serve` (timers and state-writing watches); see README "High availability". */
export const DEFAULT_LEASE_NAME = 'sparkfn-singletons';
/** client-go's leader-election defaults (kube-controller-manager's --leader-elect-lease-duration, -renew-deadline, -retry-period). */
export const DEFAULT_LEASE_DURATION_MS = 15_000;
export const DEFAULT_LEASE_RENEW_DEADLINE_MS = 10_000;
export const DEFAULT_LEASE_RETRY_PERIOD_MS = 2_000;

/** A numeric variable, with one message (which says the fix) for every way its value can be wrong. */
const numberIn = (message: string, { min, max, integer = true }: { min?: number; max?: number; integer?: boolean }) => {
  let schema = z.coerce.number({ message });
  if (integer) schema = schema.int({ message });
  if (min !== undefined) schema = schema.min(min, { message });
  if (max !== undefined) schema = schema.max(max, { message });
  return schema;
};

const wholeNumber = (variable: string, min: number, what: string) =>
  numberIn(`${variable} must be a whole number of ${what}, at least ${min}`, { min });
/** An hour after a Spark app finished its driver log and UI are rarely looked at in the cluster any more (the archive has them). */
export const DEFAULT_JANITOR_TTL = '1h';
/** kube-system is never a place for Spark apps, and deleting there by mistake hurts the whole cluster. */
export const DEFAULT_JANITOR_EXCLUDE_NAMESPACES = ['kube-system'] as const;
/** Objects of an app with no driver pod or SparkApplication are left this long: a submission may still be creating them. */
export const DEFAULT_JANITOR_ORPHAN_GRACE = '1h';
/** The driver pod goes with the rest unless told to stay longer (its log is the one people ask for). */
export const DEFAULT_JANITOR_DRIVER_EXTRA_TTL = '0s';
/** SparkApplications are spark-operator's record of a run: kept unless a TTL for them is set. */
export const DEFAULT_JANITOR_SPARKAPP_TTL = 'forever';
/** At ≤ 5 calls per app and the default QPS, 200 apps take ≤ 200 s: inside the 300 s serverless.yml gives janitor. */
export const DEFAULT_JANITOR_MAX_APPS = 200;
/** client-go's default rest.Config QPS: what every controller gets unless it asks for more. */
export const DEFAULT_JANITOR_QPS = 5;
/** Where Spark writes event logs, relative to the store: the name of Spark History Server's default log directory (`/tmp/spark-events`). */
export const DEFAULT_COST_EVENT_LOG_PREFIX = 'spark-events/';
/** Label keys (on the SparkApplication or driver pod) that say who pays: the two our namespaces' admission policy requires. */
export const DEFAULT_COST_TEAM_LABELS = ['team', 'department'] as const;
/** 250 ms: a race on the quota object clears within one write's round trip; hundreds of retriers starting at 250 ms spread out within a few seconds. */
export const DEFAULT_QUOTA_BACKOFF_BASE_MS = 250;
/** 10 s: by then a burst has spread out, and waiting longer only spends the invocation's time. */
export const DEFAULT_QUOTA_BACKOFF_CAP_MS = 10_000;
/** 8 tries: at a 30 % conflict rate all 8 lose with odds 0.3^8 ≈ 7e-5, and the capped waits (≤ 26 s) fit a 60 s invocation; what is left is queued. */
export const DEFAULT_QUOTA_MAX_ATTEMPTS = 8;
/** 6 h: a submission parked longer than a batch window is better failed loudly than run late. */
export const DEFAULT_QUOTA_DEADLINE_SECONDS = 6 * 60 * 60;
/** 30 s: freed quota is used within a driver's start-up time; under serve, ResourceQuota changes drain sooner. */
export const DEFAULT_QUOTA_DRAIN_EVERY_SECONDS = 30;
/** spark-monitor: top 10 apps per ranking (a dashboard table's worth). */
export const DEFAULT_MONITOR_TOP_N = 10;
/** Stuck after 10 min without a running executor: Spark retries executor allocation every second. */
export const DEFAULT_MONITOR_STUCK_AFTER = '10m';
/** Parked 30 min by quota-retry: worth a person's look. */
export const DEFAULT_MONITOR_QUOTA_BLOCKED_AFTER = '30m';
/** Objects of one kind of apps finished > 24 h ago: janitor is not keeping up. */
export const DEFAULT_MONITOR_LEFTOVERS_ALERT = 50;
export const DEFAULT_MONITOR_EVERY_SECONDS = 60;

// Only true and false (any case): a 1, yes or on that one reader takes as true another takes as
// false, so it is refused with the fix instead of guessed.
const bool = (variable: string) =>
  z
    .string()
    .trim()
    .toLowerCase()
    .refine((v) => v === 'true' || v === 'false', {
      message: `${variable} must be true or false`,
    })
    .transform((v) => v === 'true');

const csv = z
  .string()
  .transform((v) =>
    v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );

/** `host:port`, the host a name, an IPv4 address or a bracketed IPv6 address; the port 1-65535. */
const BROKER = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?):(\d{1,5})$/;

const brokers = csv.superRefine((list, ctx) => {
  if (list.length === 0) ctx.addIssue({ code: 'custom', message: 'SPARKFN_KAFKA_BROKERS must list at least one broker as host:port, e.g. kafka-0:9092,kafka-1:9092 (unset it to turn the consumer off)' });
  for (const broker of list) {
    const port = Number(BROKER.exec(broker)?.[2]);
    if (!(port >= 1 && port <= 65535)) {
      ctx.addIssue({ code: 'custom', message: `SPARKFN_KAFKA_BROKERS must list brokers as host:port, e.g. kafka-0:9092; ${JSON.stringify(broker)} is not` });
    }
  }
});

const storeUrl = z
  .string()
  .trim()
  .refine((v) => /^file:\/\/.+/.test(v) || /^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?$/.test(v), {
    message: 'SPARKFN_STORE must be file://<dir> or s3://<bucket>[/prefix] (bucket: 3-63 lower-case letters, digits, dots, hyphens)',
  });

const port = (variable: string) => numberIn(`${variable} must be a port number from 0 to 65535`, { min: 0, max: 65535 });

/** A kube-janitor style duration: a whole number and one unit (`30m`, `6h`, `2d`, `1w`), or `forever` where allowed. */
const duration = (variable: string, allowForever = false) =>
  z
    .string()
    .trim()
    .refine((v) => /^\d+[smhdw]$/.test(v) || (allowForever && v === 'forever'), {
      message: `${variable} must be a duration such as 30m, 6h, 2d or 1w (s, m, h, d, w)${allowForever ? ', or forever' : ''}`,
    });

/**
 * Every environment variable sparkfn reads, with its default. README.md's configuration table
 * is kept in step with this list (a test checks that every variable here is documented).
 */
const schema = z.object({
  SPARKFN_STORE: storeUrl.default(DEFAULT_STORE),
  SPARKFN_STORE_FSYNC: bool('SPARKFN_STORE_FSYNC').default(false),
  SPARKFN_S3_ENDPOINT: z.url({ message: 'SPARKFN_S3_ENDPOINT must be a URL such as https://oss-cn-hangzhou.aliyuncs.com' }).optional(),
  SPARKFN_S3_REGION: z.string().min(1).default('us-east-1'),
  SPARKFN_S3_FORCE_PATH_STYLE: bool('SPARKFN_S3_FORCE_PATH_STYLE').default(false),
  SPARKFN_S3_ACCESS_KEY_ID: z.string().optional(),
  SPARKFN_S3_SECRET_ACCESS_KEY: z.string().optional(),

  SPARKFN_KAFKA_BROKERS: brokers.optional(),
  SPARKFN_KAFKA_TOPICS: csv.default(['spark-logs']),
  SPARKFN_KAFKA_GROUP: z.string().min(1).default('sparkfn-log-archiver'),
  SPARKFN_KAFKA_CLIENT_ID: z.string().min(1).default('sparkfn'),
  SPARKFN_KAFKA_FROM_BEGINNING: bool('SPARKFN_KAFKA_FROM_BEGINNING').default(true),
  SPARKFN_KAFKA_MAX_RECORD_ATTEMPTS: numberIn('SPARKFN_KAFKA_MAX_RECORD_ATTEMPTS must be a whole number of attempts from 1 to 100', { min: 1, max: 100 }).default(DEFAULT_KAFKA_MAX_RECORD_ATTEMPTS),

  SPARKFN_K8S_URL: z.url({ message: 'SPARKFN_K8S_URL must be the apiserver URL, e.g. https://10.0.0.1:6443' }).optional(),
  SPARKFN_K8S_TOKEN: z.string().optional(),
  SPARKFN_K8S_TOKEN_FILE: z.string().optional(),
  SPARKFN_K8S_CA_FILE: z.string().optional(),
  SPARKFN_K8S_INSECURE: bool('SPARKFN_K8S_INSECURE').default(false),
  KUBECONFIG: z.string().optional(),

  SPARKFN_HOST: z.string().min(1).default('127.0.0.1'),
  SPARKFN_PORT: port('SPARKFN_PORT').default(DEFAULT_PORT),
  SPARKFN_BODY_LIMIT_BYTES: numberIn('SPARKFN_BODY_LIMIT_BYTES must be a positive number of bytes', { min: 1 }).default(DEFAULT_BODY_LIMIT_BYTES),
  SPARKFN_WEBHOOK_TOKEN: z.string().min(16, { message: 'SPARKFN_WEBHOOK_TOKEN must be at least 16 characters' }).optional(),
  SPARKFN_WEBHOOK_HMAC_SECRET: z.string().min(16, { message: 'SPARKFN_WEBHOOK_HMAC_SECRET must be at least 16 characters' }).optional(),
  SPARKFN_WEBHOOK_MAX_AGE_SECONDS: wholeNumber('SPARKFN_WEBHOOK_MAX_AGE_SECONDS', 1, 'seconds').default(DEFAULT_WEBHOOK_MAX_AGE_SECONDS),
  SPARKFN_TLS_CERT_FILE: z.string().optional(),
  SPARKFN_TLS_KEY_FILE: z.string().optional(),
  SPARKFN_HTTP_BODY_TIMEOUT_MS: wholeNumber('SPARKFN_HTTP_BODY_TIMEOUT_MS', 100, 'milliseconds').default(DEFAULT_BODY_TIMEOUT_MS),
  SPARKFN_HTTP_HEADERS_TIMEOUT_MS: wholeNumber('SPARKFN_HTTP_HEADERS_TIMEOUT_MS', 100, 'milliseconds').default(DEFAULT_HEADERS_TIMEOUT_MS),
  SPARKFN_HTTP_REQUEST_TIMEOUT_MS: wholeNumber('SPARKFN_HTTP_REQUEST_TIMEOUT_MS', 100, 'milliseconds').default(DEFAULT_REQUEST_TIMEOUT_MS),
  SPARKFN_HTTP_MAX_CONNECTIONS: wholeNumber('SPARKFN_HTTP_MAX_CONNECTIONS', 1, 'connections').default(DEFAULT_MAX_CONNECTIONS),
  SPARKFN_HTTP_BODY_MEMORY_BYTES: wholeNumber('SPARKFN_HTTP_BODY_MEMORY_BYTES', 1024, 'bytes').default(DEFAULT_BODY_MEMORY_BYTES),
  SPARKFN_HTTP_KEEP_ALIVE_TIMEOUT_MS: wholeNumber('SPARKFN_HTTP_KEEP_ALIVE_TIMEOUT_MS', 1000, 'milliseconds').default(DEFAULT_KEEP_ALIVE_TIMEOUT_MS),
  SPARKFN_UNREADY_EXIT_SECONDS: wholeNumber('SPARKFN_UNREADY_EXIT_SECONDS', 1, 'seconds').default(DEFAULT_UNREADY_EXIT_SECONDS),
  SPARKFN_LEADER_ELECTION: z
    .enum(['auto', 'on', 'off'], { message: 'SPARKFN_LEADER_ELECTION must be auto (on when a cluster is configured), on or off' })
    .default('auto'),
  SPARKFN_LEASE_NAME: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, { message: 'SPARKFN_LEASE_NAME must be a Kubernetes object name, e.g. sparkfn-singletons' })
    .default(DEFAULT_LEASE_NAME),
  SPARKFN_LEASE_NAMESPACE: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, { message: 'SPARKFN_LEASE_NAMESPACE must be a namespace name, e.g. sparkfn' })
    .optional(),
  SPARKFN_LEADER_IDENTITY: z.string().min(1).max(253).optional(),
  SPARKFN_LEASE_DURATION_MS: numberIn('SPARKFN_LEASE_DURATION_MS must be whole seconds in milliseconds, at least 1000 (e.g. 15000)', { min: 1000 })
    .refine((v) => v % 1000 === 0, { message: 'SPARKFN_LEASE_DURATION_MS must be whole seconds in milliseconds, at least 1000 (e.g. 15000)' })
    .default(DEFAULT_LEASE_DURATION_MS),
  SPARKFN_LEASE_RENEW_DEADLINE_MS: wholeNumber('SPARKFN_LEASE_RENEW_DEADLINE_MS', 100, 'milliseconds').default(DEFAULT_LEASE_RENEW_DEADLINE_MS),
  SPARKFN_LEASE_RETRY_PERIOD_MS: wholeNumber('SPARKFN_LEASE_RETRY_PERIOD_MS', 50, 'milliseconds').default(DEFAULT_LEASE_RETRY_PERIOD_MS),

  SPARKFN_ARCHIVER_KEY_TEMPLATE: z
    .string()
    .refine((v) => v.includes('<appId>') && v.includes('<executorId>'), {
      message: 'SPARKFN_ARCHIVER_KEY_TEMPLATE must contain <appId> and <executorId>, e.g. <appType>/<appId>/<executorId>',
    })
    .default(DEFAULT_ARCHIVER_KEY_TEMPLATE),
  SPARKFN_ARCHIVER_IDENTITY_ORDER: csv
    .refine((v) => v.length > 0 && v.every((s) => (DEFAULT_ARCHIVER_IDENTITY_ORDER as readonly string[]).includes(s)) && new Set(v).size === v.length, {
      message: 'SPARKFN_ARCHIVER_IDENTITY_ORDER must list key, fields and labels (each at most once), e.g. key,fields,labels',
    })
    .transform((v) => v as ('key' | 'fields' | 'labels')[])
    .default([...DEFAULT_ARCHIVER_IDENTITY_ORDER]),
  SPARKFN_ARCHIVER_MAX_LINE_BYTES: numberIn('SPARKFN_ARCHIVER_MAX_LINE_BYTES must be a whole number of bytes from 1024 to 67108864', { min: 1024, max: 64 * 1024 * 1024 }).default(DEFAULT_ARCHIVER_MAX_LINE_BYTES),
  SPARKFN_ARCHIVER_COMPACT_IDLE_SECONDS: wholeNumber('SPARKFN_ARCHIVER_COMPACT_IDLE_SECONDS', 60, 'seconds').default(DEFAULT_ARCHIVER_COMPACT_IDLE_SECONDS),
  SPARKFN_ARCHIVER_GZIP_LEVEL: numberIn('SPARKFN_ARCHIVER_GZIP_LEVEL must be a gzip level from 1 (fastest) to 9 (smallest)', { min: 1, max: 9 }).default(DEFAULT_ARCHIVER_GZIP_LEVEL),

  SPARKFN_COST_EVENT_LOG_PREFIX: z
    .string()
    .refine((v) => !v.startsWith('/') && !v.split('/').includes('..'), {
      message: 'SPARKFN_COST_EVENT_LOG_PREFIX must be a key prefix inside the store, e.g. spark-events/ (no leading slash, no ..)',
    })
    .default(DEFAULT_COST_EVENT_LOG_PREFIX),
  SPARKFN_COST_PRICE_FILE: z.string().min(1).optional(),
  SPARKFN_COST_TEAM_LABELS: csv
    .refine((v) => v.length > 0, { message: 'SPARKFN_COST_TEAM_LABELS must list at least one label key, e.g. team,department' })
    .default([...DEFAULT_COST_TEAM_LABELS]),
  SPARKFN_COST_KAFKA_TOPIC: z.string().min(1).optional(),

  SPARKFN_SPOT_OPEN_THRESHOLD: wholeNumber('SPARKFN_SPOT_OPEN_THRESHOLD', 1, 'signals').default(DEFAULT_SPOT_OPEN_THRESHOLD),
  SPARKFN_SPOT_SIGNAL_WINDOW_SECONDS: wholeNumber('SPARKFN_SPOT_SIGNAL_WINDOW_SECONDS', 1, 'seconds').default(DEFAULT_SPOT_SIGNAL_WINDOW_SECONDS),
  SPARKFN_SPOT_OPEN_TTL_SECONDS: wholeNumber('SPARKFN_SPOT_OPEN_TTL_SECONDS', 1, 'seconds').default(DEFAULT_SPOT_OPEN_TTL_SECONDS),
  SPARKFN_SPOT_MAX_OPEN_TTL_SECONDS: wholeNumber('SPARKFN_SPOT_MAX_OPEN_TTL_SECONDS', 1, 'seconds').default(DEFAULT_SPOT_MAX_OPEN_TTL_SECONDS),
  SPARKFN_SPOT_PROBE_TIMEOUT_SECONDS: wholeNumber('SPARKFN_SPOT_PROBE_TIMEOUT_SECONDS', 1, 'seconds').default(DEFAULT_SPOT_PROBE_TIMEOUT_SECONDS),
  SPARKFN_SPOT_FALLBACK_ANNOTATION: bool('SPARKFN_SPOT_FALLBACK_ANNOTATION').default(true),
  SPARKFN_SPOT_RECYCLE_GRACE_SECONDS: wholeNumber('SPARKFN_SPOT_RECYCLE_GRACE_SECONDS', 0, 'seconds').default(DEFAULT_SPOT_RECYCLE_GRACE_SECONDS),
  SPARKFN_SPOT_RECYCLES_PER_APP: wholeNumber('SPARKFN_SPOT_RECYCLES_PER_APP', 0, 'pods').default(DEFAULT_SPOT_RECYCLES_PER_APP),
  SPARKFN_SPOT_EVICT_ON_RECLAIM: bool('SPARKFN_SPOT_EVICT_ON_RECLAIM').default(false),
  SPARKFN_SPOT_APP_RECLAIM_LIMIT: wholeNumber('SPARKFN_SPOT_APP_RECLAIM_LIMIT', 0, 'reclaims').default(DEFAULT_SPOT_APP_RECLAIM_LIMIT),
  SPARKFN_SPOT_ADMISSION_TIMEOUT_MS: wholeNumber('SPARKFN_SPOT_ADMISSION_TIMEOUT_MS', 50, 'milliseconds').default(DEFAULT_SPOT_ADMISSION_TIMEOUT_MS),
  SPARKFN_SPOT_CACHE_TTL_MS: wholeNumber('SPARKFN_SPOT_CACHE_TTL_MS', 0, 'milliseconds').default(DEFAULT_SPOT_CACHE_TTL_MS),
  SPARKFN_ADMISSION_TOKEN: z.string().min(16, { message: 'SPARKFN_ADMISSION_TOKEN must be at least 16 characters' }).optional(),
  SPARKFN_ADMISSION_CLIENT_CA_FILE: z.string().optional(),
  SPARKFN_ADMISSION_CLIENT_NAMES: csv.default([]),
  SPARKFN_SPOT_VSWITCH_ZONES: z
    .string()
    .refine((v) => v.split(',').every((pair) => pair.trim() === '' || /^vsw-[A-Za-z0-9]+=[a-z0-9-]+$/.test(pair.trim())), {
      message: 'SPARKFN_SPOT_VSWITCH_ZONES must list vSwitch=zone pairs, e.g. vsw-bp1a=cn-hangzhou-h,vsw-bp1b=cn-hangzhou-i',
    })
    .optional(),

  SPARKFN_JANITOR_DRY_RUN: bool('SPARKFN_JANITOR_DRY_RUN').default(false),
  SPARKFN_JANITOR_NAMESPACES: csv.default([]),
  SPARKFN_JANITOR_EXCLUDE_NAMESPACES: csv.default([...DEFAULT_JANITOR_EXCLUDE_NAMESPACES]),
  SPARKFN_JANITOR_TTL: duration('SPARKFN_JANITOR_TTL', true).default(DEFAULT_JANITOR_TTL),
  SPARKFN_JANITOR_NAMESPACE_TTLS: csv
    .refine((v) => v.every((pair) => /^[a-z0-9]([-a-z0-9]*[a-z0-9])?=(\d+[smhdw]|forever)$/.test(pair)), {
      message: 'SPARKFN_JANITOR_NAMESPACE_TTLS must be namespace=duration pairs, e.g. spark-dev=30m,spark-prod=2d (or =forever)',
    })
    .default([]),
  SPARKFN_JANITOR_ORPHAN_GRACE: duration('SPARKFN_JANITOR_ORPHAN_GRACE').default(DEFAULT_JANITOR_ORPHAN_GRACE),
  SPARKFN_JANITOR_DRIVER_EXTRA_TTL: duration('SPARKFN_JANITOR_DRIVER_EXTRA_TTL').default(DEFAULT_JANITOR_DRIVER_EXTRA_TTL),
  SPARKFN_JANITOR_SPARKAPP_TTL: duration('SPARKFN_JANITOR_SPARKAPP_TTL', true).default(DEFAULT_JANITOR_SPARKAPP_TTL),
  SPARKFN_JANITOR_MAX_APPS: wholeNumber('SPARKFN_JANITOR_MAX_APPS', 1, 'apps').default(DEFAULT_JANITOR_MAX_APPS),
  SPARKFN_JANITOR_QPS: numberIn('SPARKFN_JANITOR_QPS must be a number of API calls per second, 0 for no cap', { min: 0, integer: false }).default(DEFAULT_JANITOR_QPS),

  SPARKFN_QUOTA_BACKOFF_BASE_MS: wholeNumber('SPARKFN_QUOTA_BACKOFF_BASE_MS', 1, 'milliseconds').default(DEFAULT_QUOTA_BACKOFF_BASE_MS),
  SPARKFN_QUOTA_BACKOFF_CAP_MS: wholeNumber('SPARKFN_QUOTA_BACKOFF_CAP_MS', 1, 'milliseconds').default(DEFAULT_QUOTA_BACKOFF_CAP_MS),
  SPARKFN_QUOTA_MAX_ATTEMPTS: wholeNumber('SPARKFN_QUOTA_MAX_ATTEMPTS', 1, 'attempts').default(DEFAULT_QUOTA_MAX_ATTEMPTS),
  SPARKFN_QUOTA_DEADLINE_SECONDS: wholeNumber('SPARKFN_QUOTA_DEADLINE_SECONDS', 60, 'seconds').default(DEFAULT_QUOTA_DEADLINE_SECONDS),
  SPARKFN_QUOTA_DRAIN_EVERY_SECONDS: wholeNumber('SPARKFN_QUOTA_DRAIN_EVERY_SECONDS', 1, 'seconds').default(DEFAULT_QUOTA_DRAIN_EVERY_SECONDS),
  SPARKFN_QUOTA_DEPARTMENT_CAPS: csv
    .refine((v) => v.every((pair) => /^([A-Za-z0-9._-]+|\*)=\d+$/.test(pair)), {
      message: 'SPARKFN_QUOTA_DEPARTMENT_CAPS must be department=drivers pairs, e.g. analytics=20,etl=12,*=8',
    })
    .default([]),
  SPARKFN_QUOTA_BACKFILL: bool('SPARKFN_QUOTA_BACKFILL').default(false),
  SPARKFN_QUOTA_ALERT_URL: z.url({ message: 'SPARKFN_QUOTA_ALERT_URL must be a URL, e.g. https://oapi.dingtalk.com/robot/send?access_token=…' }).optional(),
  SPARKFN_MONITOR_TOP_N: wholeNumber('SPARKFN_MONITOR_TOP_N', 1, 'apps').default(DEFAULT_MONITOR_TOP_N),
  SPARKFN_MONITOR_STUCK_AFTER: duration('SPARKFN_MONITOR_STUCK_AFTER').default(DEFAULT_MONITOR_STUCK_AFTER),
  SPARKFN_MONITOR_QUOTA_BLOCKED_AFTER: duration('SPARKFN_MONITOR_QUOTA_BLOCKED_AFTER').default(DEFAULT_MONITOR_QUOTA_BLOCKED_AFTER),
  SPARKFN_MONITOR_LEFTOVERS_ALERT: wholeNumber('SPARKFN_MONITOR_LEFTOVERS_ALERT', 1, 'objects').default(DEFAULT_MONITOR_LEFTOVERS_ALERT),
  SPARKFN_MONITOR_EVERY_SECONDS: wholeNumber('SPARKFN_MONITOR_EVERY_SECONDS', 5, 'seconds').default(DEFAULT_MONITOR_EVERY_SECONDS),
  SPARKFN_MONITOR_ALERT_URL: z.url({ message: 'SPARKFN_MONITOR_ALERT_URL must be a URL' }).optional(),
  SPARKFN_ALERT_FORMAT: z.enum(['combined', 'dingtalk', 'slack', 'webhook'], { message: 'SPARKFN_ALERT_FORMAT must be combined, dingtalk, slack or webhook' }).default('combined'),
  SPARKFN_LOG_VIEWER_URL: z.url({ message: 'SPARKFN_LOG_VIEWER_URL must be a URL, e.g. https://sparkfn.example.com' }).optional(),

  // Alibaba Cloud's standard credential variables (the same names its CLI and SDKs read), for `sparkfn deploy fc`.
  ALIBABA_CLOUD_ACCESS_KEY_ID: z.string().optional(),
  ALIBABA_CLOUD_ACCESS_KEY_SECRET: z.string().optional(),
  SPARKFN_FC_ACCOUNT_ID: z.string().trim().regex(/^\d{6,20}$/, { message: 'SPARKFN_FC_ACCOUNT_ID must be your Alibaba Cloud account id (digits only), as shown in the FC console' }).optional(),
  SPARKFN_FC_REGION: z.string().trim().regex(/^[a-z]{2}(-[a-z0-9]+)+$/, { message: 'SPARKFN_FC_REGION must be a region id such as cn-hangzhou or ap-southeast-1' }).optional(),
  SPARKFN_FC_SERVICE: z.string().trim().regex(/^[a-zA-Z_][a-zA-Z0-9_-]{0,127}$/, { message: 'SPARKFN_FC_SERVICE must be an FC service name: a letter or _, then up to 127 letters, digits, _ or -' }).optional(),
  SPARKFN_FC_ENDPOINT: z.url({ message: 'SPARKFN_FC_ENDPOINT must be a URL such as https://123456.cn-hangzhou-internal.fc.aliyuncs.com' }).optional(),
  SPARKFN_FC_KAFKA_INSTANCE_ID: z.string().trim().min(1).optional(),

  SPARKFN_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  SPARKFN_DRY_RUN: bool('SPARKFN_DRY_RUN').default(false),
});

export type Config = z.infer<typeof schema>;

/**
 * Variables whose presence turns a part on: set but empty (`SPARKFN_KAFKA_BROKERS=` from a
 * template whose value went missing) is an error, not the part quietly off.
 */
const SET_MEANS_ON: ReadonlySet<string> = new Set(['SPARKFN_KAFKA_BROKERS']);

/** The variables `loadConfig` reads, for the README check and `sparkfn doctor`. */
export const CONFIG_VARIABLES = Object.keys(schema.shape) as (keyof Config)[];

/**
 * Reads and validates the environment once. Fails fast with every problem at once, each
 * naming its variable and how to fix it.
 * @example loadConfig({ SPARKFN_STORE: 's3://logs/spark' }).SPARKFN_STORE // 's3://logs/spark'
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const input: Record<string, string> = {};
  for (const key of CONFIG_VARIABLES) {
    const value = env[key];
    // An empty value means unset, except where that would silently turn a part off.
    if (value !== undefined && (value !== '' || SET_MEANS_ON.has(key))) input[key] = value;
  }
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const variable = String(issue.path[0] ?? 'environment');
      const message = issue.message.startsWith(variable) ? issue.message : `${variable}: ${issue.message}`;
      return { variable, message };
    });
    throw new ConfigError(`Invalid configuration: ${problems.map((p) => p.message).join('; ')}.`, problems);
  }
  const config = parsed.data;
  if (config.SPARKFN_TLS_CERT_FILE && !config.SPARKFN_TLS_KEY_FILE) {
    throw new ConfigError('Invalid configuration: SPARKFN_TLS_KEY_FILE must be set when SPARKFN_TLS_CERT_FILE is.', [
      { variable: 'SPARKFN_TLS_KEY_FILE', message: 'set it to the PEM key matching SPARKFN_TLS_CERT_FILE' },
    ]);
  }
  if (config.SPARKFN_TLS_KEY_FILE && !config.SPARKFN_TLS_CERT_FILE) {
    throw new ConfigError('Invalid configuration: SPARKFN_TLS_CERT_FILE must be set when SPARKFN_TLS_KEY_FILE is.', [
      { variable: 'SPARKFN_TLS_CERT_FILE', message: 'set it to the PEM certificate matching SPARKFN_TLS_KEY_FILE' },
    ]);
  }
  if (config.SPARKFN_ADMISSION_CLIENT_CA_FILE && !config.SPARKFN_TLS_CERT_FILE) {
    throw new ConfigError('Invalid configuration: SPARKFN_ADMISSION_CLIENT_CA_FILE needs HTTPS: set SPARKFN_TLS_CERT_FILE and SPARKFN_TLS_KEY_FILE too (a client certificate is presented in the TLS handshake).', [
      { variable: 'SPARKFN_ADMISSION_CLIENT_CA_FILE', message: 'set SPARKFN_TLS_CERT_FILE and SPARKFN_TLS_KEY_FILE, or unset it' },
    ]);
  }
  if (config.SPARKFN_ADMISSION_CLIENT_NAMES.length > 0 && !config.SPARKFN_ADMISSION_CLIENT_CA_FILE) {
    throw new ConfigError('Invalid configuration: SPARKFN_ADMISSION_CLIENT_NAMES is checked only against a verified client certificate: set SPARKFN_ADMISSION_CLIENT_CA_FILE too.', [
      { variable: 'SPARKFN_ADMISSION_CLIENT_NAMES', message: 'set SPARKFN_ADMISSION_CLIENT_CA_FILE to the CA that signed the apiserver\'s client certificate, or unset it' },
    ]);
  }
  if (config.SPARKFN_HTTP_HEADERS_TIMEOUT_MS > config.SPARKFN_HTTP_REQUEST_TIMEOUT_MS) {
    throw new ConfigError('Invalid configuration: SPARKFN_HTTP_HEADERS_TIMEOUT_MS must not be larger than SPARKFN_HTTP_REQUEST_TIMEOUT_MS (the headers are part of the request).', [
      { variable: 'SPARKFN_HTTP_HEADERS_TIMEOUT_MS', message: 'lower it, or raise SPARKFN_HTTP_REQUEST_TIMEOUT_MS' },
    ]);
  }
  return config;
}
