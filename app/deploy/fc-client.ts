import { createRequire } from 'node:module';

/**
 * The part of the unmodified @alicloud/fc2 client (FC API 2016-08-15) that deploy uses. fc2
 * ships no types; it is CommonJS, so it is loaded with require and typed here.
 */
export interface FcResponse<T> {
  headers: Record<string, string>;
  data: T;
}

export interface FcApi {
  getService(serviceName: string): Promise<FcResponse<Record<string, unknown>>>;
  createService(serviceName: string, options?: Record<string, unknown>): Promise<FcResponse<Record<string, unknown>>>;
  updateService(serviceName: string, options: Record<string, unknown>): Promise<FcResponse<Record<string, unknown>>>;
  getFunction(serviceName: string, functionName: string): Promise<FcResponse<Record<string, unknown>>>;
  createFunction(serviceName: string, options: Record<string, unknown>): Promise<FcResponse<Record<string, unknown>>>;
  updateFunction(serviceName: string, functionName: string, options: Record<string, unknown>): Promise<FcResponse<Record<string, unknown>>>;
  listTriggers(serviceName: string, functionName: string, options?: Record<string, unknown>): Promise<FcResponse<{ triggers?: Record<string, unknown>[]; nextToken?: string }>>;
  getTrigger(serviceName: string, functionName: string, triggerName: string): Promise<FcResponse<Record<string, unknown>>>;
  createTrigger(serviceName: string, functionName: string, options: Record<string, unknown>): Promise<FcResponse<Record<string, unknown>>>;
  updateTrigger(serviceName: string, functionName: string, triggerName: string, options: Record<string, unknown>): Promise<FcResponse<Record<string, unknown>>>;
}

/** Where and as whom to reach FC. The secret stays in here and in fc2; nothing prints it. */
export interface FcConnection {
  accountId: string;
  region: string;
  accessKeyId: string;
  accessKeySecret: string;
  /** Defaults to fc2's `https://<accountId>.<region>.fc.aliyuncs.com`; tests point it at the stand-in. */
  endpoint?: string;
  timeoutMs?: number;
}

/** 60 s, fc2's own default: a create with a 2 MB zip body is the slowest call. */
export const DEFAULT_FC_TIMEOUT_MS = 60_000;

type FcClientConstructor = new (accountId: string, config: Record<string, unknown>) => FcApi;

/** An fc2 client over HTTPS (or the given endpoint). */
export function createFcClient(connection: FcConnection): FcApi {
  const Client = createRequire(import.meta.url)('@alicloud/fc2') as FcClientConstructor;
  return new Client(connection.accountId, {
    accessKeyID: connection.accessKeyId,
    accessKeySecret: connection.accessKeySecret,
    region: connection.region,
    secure: true,
    timeout: connection.timeoutMs ?? DEFAULT_FC_TIMEOUT_MS,
    ...(connection.endpoint && { endpoint: connection.endpoint }),
  });
}

/** fc2 turns FC's `{ErrorCode, ErrorMessage}` into an Error with `code` and "failed with <status>" in its message. */
export function isNotFound(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as Error & { code?: unknown }).code;
  return (typeof code === 'string' && code.endsWith('NotFound')) || /failed with 404\b/.test(err.message);
}
