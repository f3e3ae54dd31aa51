import { z } from 'zod';
import { ConfigError } from './errors.js';

/** Where the embedded default store lives: `npm start` writes here, relative to the working directory. */
export const DEFAULT_STORE = 'file://.sparkfn-data';
/** Port of `sparkfn serve` when neither --port nor SPARKFN_PORT says otherwise. */
export const DEFAULT_PORT = 8080;
/** 1 MiB: big enough for an AdmissionReview of a large pod or a kube-eventer batch, small enough to refuse floods. */
export const DEFAULT_BODY_LIMIT_BYTES = 1024 * 1024;
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

const bool = (variable: string) =>
  z
    .string()
    .trim()
    .toLowerCase()
    .refine((v) => ['true', 'false', '1', '0', 'yes', 'no', ''].includes(v), {
      message: `${variable} must be true or false`,
    })
    .transform((v) => v === 'true' || v === '1' || v === 'yes');

const csv = z
  .string()
  .transform((v) =>
    v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );

const storeUrl = z
  .string()
  .trim()
  .refine((v) => /^file:\/\/.+/.test(v) || /^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?$/.test(v), {
    message: 'SPARKFN_STORE must be file://<dir> or s3://<bucket>[/prefix] (bucket: 3-63 lower-case letters, digits, dots, hyphens)',
  });

const port = (variable: string) =>
  z.coerce
    .number({ message: `${variable} must be a port number from 0 to 65535` })
    .int({ message: `${variable} must be a port number from 0 to 65535` })
    .min(0, { message: `${variable} must be a port number from 0 to 65535` })
    .max(65535, { message: `${variable} must be a port number from 0 to 65535` });

/**
 * Every environment variable sparkfn reads, with its default. README.md's configuration table
 * is kept in step with this list (a test checks that every variable here is documented).
 */
const schema = z.object({
  SPARKFN_STORE: storeUrl.default(DEFAULT_STORE),
  SPARKFN_S3_ENDPOINT: z.url({ message: 'SPARKFN_S3_ENDPOINT must be a URL such as https://oss-cn-hangzhou.aliyuncs.com' }).optional(),
  SPARKFN_S3_REGION: z.string().min(1).default('us-east-1'),
  SPARKFN_S3_FORCE_PATH_STYLE: bool('SPARKFN_S3_FORCE_PATH_STYLE').default(false),
  SPARKFN_S3_ACCESS_KEY_ID: z.string().optional(),
  SPARKFN_S3_SECRET_ACCESS_KEY: z.string().optional(),

  SPARKFN_KAFKA_BROKERS: csv.optional(),
  SPARKFN_KAFKA_TOPICS: csv.default(['spark-logs']),
  SPARKFN_KAFKA_GROUP: z.string().min(1).default('sparkfn-log-archiver'),
  SPARKFN_KAFKA_CLIENT_ID: z.string().min(1).default('sparkfn'),
  SPARKFN_KAFKA_FROM_BEGINNING: bool('SPARKFN_KAFKA_FROM_BEGINNING').default(true),

  SPARKFN_K8S_URL: z.url({ message: 'SPARKFN_K8S_URL must be the apiserver URL, e.g. https://10.0.0.1:6443' }).optional(),
  SPARKFN_K8S_TOKEN: z.string().optional(),
  SPARKFN_K8S_TOKEN_FILE: z.string().optional(),
  SPARKFN_K8S_CA_FILE: z.string().optional(),
  SPARKFN_K8S_INSECURE: bool('SPARKFN_K8S_INSECURE').default(false),
  KUBECONFIG: z.string().optional(),

  SPARKFN_HOST: z.string().min(1).default('127.0.0.1'),
  SPARKFN_PORT: port('SPARKFN_PORT').default(DEFAULT_PORT),
  SPARKFN_BODY_LIMIT_BYTES: z.coerce.number({ message: 'SPARKFN_BODY_LIMIT_BYTES must be a positive number of bytes' }).int().positive({ message: 'SPARKFN_BODY_LIMIT_BYTES must be a positive number of bytes' }).default(DEFAULT_BODY_LIMIT_BYTES),
  SPARKFN_WEBHOOK_TOKEN: z.string().min(16, { message: 'SPARKFN_WEBHOOK_TOKEN must be at least 16 characters' }).optional(),
  SPARKFN_WEBHOOK_HMAC_SECRET: z.string().min(16, { message: 'SPARKFN_WEBHOOK_HMAC_SECRET must be at least 16 characters' }).optional(),
  SPARKFN_TLS_CERT_FILE: z.string().optional(),
  SPARKFN_TLS_KEY_FILE: z.string().optional(),

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
  SPARKFN_ARCHIVER_MAX_LINE_BYTES: z.coerce
    .number({ message: 'SPARKFN_ARCHIVER_MAX_LINE_BYTES must be a whole number of bytes from 1024 to 67108864' })
    .int({ message: 'SPARKFN_ARCHIVER_MAX_LINE_BYTES must be a whole number of bytes from 1024 to 67108864' })
    .min(1024, { message: 'SPARKFN_ARCHIVER_MAX_LINE_BYTES must be a whole number of bytes from 1024 to 67108864' })
    .max(64 * 1024 * 1024, { message: 'SPARKFN_ARCHIVER_MAX_LINE_BYTES must be a whole number of bytes from 1024 to 67108864' })
    .default(DEFAULT_ARCHIVER_MAX_LINE_BYTES),
  SPARKFN_ARCHIVER_COMPACT_IDLE_SECONDS: z.coerce
    .number({ message: 'SPARKFN_ARCHIVER_COMPACT_IDLE_SECONDS must be a whole number of seconds, at least 60' })
    .int({ message: 'SPARKFN_ARCHIVER_COMPACT_IDLE_SECONDS must be a whole number of seconds, at least 60' })
    .min(60, { message: 'SPARKFN_ARCHIVER_COMPACT_IDLE_SECONDS must be a whole number of seconds, at least 60' })
    .default(DEFAULT_ARCHIVER_COMPACT_IDLE_SECONDS),
  SPARKFN_ARCHIVER_GZIP_LEVEL: z.coerce
    .number({ message: 'SPARKFN_ARCHIVER_GZIP_LEVEL must be a gzip level from 1 (fastest) to 9 (smallest)' })
    .int({ message: 'SPARKFN_ARCHIVER_GZIP_LEVEL must be a gzip level from 1 (fastest) to 9 (smallest)' })
    .min(1, { message: 'SPARKFN_ARCHIVER_GZIP_LEVEL must be a gzip level from 1 (fastest) to 9 (smallest)' })
    .max(9, { message: 'SPARKFN_ARCHIVER_GZIP_LEVEL must be a gzip level from 1 (fastest) to 9 (smallest)' })
    .default(DEFAULT_ARCHIVER_GZIP_LEVEL),

  SPARKFN_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  SPARKFN_DRY_RUN: bool('SPARKFN_DRY_RUN').default(false),
});

export type Config = z.infer<typeof schema>;

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
    if (value !== undefined && value !== '') input[key] = value;
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
  return config;
}
