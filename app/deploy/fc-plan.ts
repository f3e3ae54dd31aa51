import { parse } from 'yaml';
import { ConfigError } from '../../shared/errors.js';
import { fcTriggers, type FcTrigger } from './fc-triggers.js';

/**
 * serverless.yml (Serverless Framework format, provider aws) → the Function Compute state it
 * describes. Pure: the caller reads the file and passes the environment `${env:…}` resolves in.
 */

/** FC's Node.js 20 runtime, the counterpart of Lambda's nodejs20.x. */
export const FC_RUNTIME = 'nodejs20';
/** The FC entry point of each bundle (`npm run build` writes dist/fc/<name>/index.js exporting `handler`). */
export const FC_HANDLER = 'index.handler';
/** The Serverless Framework's defaults when neither the function nor the provider sets them. */
export const DEFAULT_MEMORY_MB = 1024;
export const DEFAULT_TIMEOUT_S = 6;

/** Function settings as createFunction / updateFunction take them (code aside). */
export interface FcFunctionConfig {
  functionName: string;
  description: string;
  runtime: string;
  handler: string;
  memorySize: number;
  timeout: number;
  environmentVariables: Record<string, string>;
}

export interface DesiredFunction {
  config: FcFunctionConfig;
  /** Folder whose contents are zipped as the function's code. */
  bundleDir: string;
  triggers: FcTrigger[];
}

export interface DesiredState {
  service: { serviceName: string; description: string };
  functions: DesiredFunction[];
}

export interface PlanOptions {
  env: NodeJS.ProcessEnv;
  region: string;
  /** Defaults to serverless.yml's `service`. */
  serviceName?: string;
  kafkaInstanceId?: string;
  /** Where the FC bundles live, one folder per function. */
  bundleRoot: string;
}

const manifestError = (message: string) => new ConfigError(`serverless.yml: ${message}`, [{ variable: 'serverless.yml', message }]);

/**
 * Resolves `${env:NAME}` and `${env:NAME, 'default'}`; any other variable source is refused so
 * a value never silently reaches FC unresolved.
 */
export function resolveVariables(value: unknown, env: NodeJS.ProcessEnv): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\{([^}]*)\}/g, (whole, inner: string) => {
      const match = /^env:([A-Za-z_][A-Za-z0-9_]*)\s*(?:,\s*(?:'([^']*)'|"([^"]*)"|([^'"\s][^,]*?)))?\s*$/.exec(inner.trim());
      if (!match) throw manifestError(`${whole} is not supported; only \${env:NAME} and \${env:NAME, 'default'} are resolved`);
      const fromEnv = env[match[1]!];
      if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
      const fallback = match[2] ?? match[3] ?? match[4];
      if (fallback === undefined) throw manifestError(`${whole}: ${match[1]} is not set and has no default`);
      return fallback;
    });
  }
  if (Array.isArray(value)) return value.map((v) => resolveVariables(v, env));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveVariables(v, env)]));
  return value;
}

const record = (value: unknown): Record<string, unknown> => (value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {});

function stringMap(value: unknown): Record<string, string> {
  return Object.fromEntries(Object.entries(record(value)).map(([k, v]) => [k, v === null || v === undefined ? '' : String(v)]));
}

function memory(name: string, value: number): number {
  // FC sizes memory in steps of 64 MB from 128 MB.
  if (!Number.isInteger(value) || value < 128 || value > 32_768 || value % 64 !== 0) {
    throw manifestError(`function ${name}: memorySize ${value} is not a size FC offers (128 to 32768 MB in steps of 64)`);
  }
  return value;
}

function timeout(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1 || value > 86_400) throw manifestError(`function ${name}: timeout ${value} must be 1 to 86400 seconds`);
  return value;
}

/**
 * The FC state serverless.yml describes.
 * @example planFc(readFileSync('serverless.yml', 'utf8'), { env: {}, region: 'cn-hangzhou', bundleRoot: 'dist/fc' }).functions.map((f) => f.config.functionName)
 */
export function planFc(yamlText: string, options: PlanOptions): DesiredState {
  const manifest = record(resolveVariables(parse(yamlText), options.env));
  const provider = record(manifest.provider);
  if (provider.name !== 'aws') throw manifestError(`provider.name is ${String(provider.name)}; the FC mapping reads the aws provider's settings`);
  const serviceName = options.serviceName ?? String(manifest.service ?? '');
  if (!/^[a-zA-Z_][a-zA-Z0-9_-]{0,127}$/.test(serviceName)) throw manifestError(`service name "${serviceName}" is not a valid FC service name`);
  const providerEnv = stringMap(provider.environment);
  const functions = Object.entries(record(manifest.functions)).map(([name, raw]): DesiredFunction => {
    const spec = record(raw);
    const config: FcFunctionConfig = {
      functionName: name,
      description: String(spec.description ?? ''),
      runtime: FC_RUNTIME,
      handler: FC_HANDLER,
      memorySize: memory(name, Number(spec.memorySize ?? provider.memorySize ?? DEFAULT_MEMORY_MB)),
      timeout: timeout(name, Number(spec.timeout ?? provider.timeout ?? DEFAULT_TIMEOUT_S)),
      environmentVariables: { ...providerEnv, ...stringMap(spec.environment) },
    };
    const events = Array.isArray(spec.events) ? spec.events : [];
    return {
      config,
      bundleDir: `${options.bundleRoot.replace(/\/+$/, '')}/${name}`,
      triggers: fcTriggers(events, { functionName: name, region: options.region, ...(options.kafkaInstanceId && { kafkaInstanceId: options.kafkaInstanceId }) }),
    };
  });
  return { service: { serviceName, description: `${String(manifest.service ?? serviceName)}: deployed from serverless.yml by sparkfn` }, functions };
}
