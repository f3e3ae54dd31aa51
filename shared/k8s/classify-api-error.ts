/**
 * What a failed Kubernetes API call means for the caller:
 * - `quota-conflict`: 409 on a ResourceQuota object — two apiserver replicas raced admitting
 *   creates; the create did not happen; retry with jittered backoff (kubernetes/kubernetes#67761).
 * - `quota-exceeded`: 403 `exceeded quota` — wait until the quota has room (not retryable now).
 * - `already-exists`: 409 AlreadyExists — for an idempotent create, the earlier attempt succeeded.
 * - `not-found`: 404. `gone`: 410 — a list/watch resourceVersion or continue token expired; start over.
 * - `throttled`: 429 — retry after `retryAfterSeconds`.
 * - `transient`: 5xx, network failures, timeouts, and a 409 stale-update Conflict on any other
 *   object: re-read the object and retry (what client-go's retry.RetryOnConflict does).
 * - `forbidden`: 401, or 403 other than quota (RBAC): configuration, not retryable.
 * - `invalid`: 400/405/415/422, the pod-spec problem `failed quota: … must specify …`, and any
 *   error that is not recognisably an API or network failure (a bug should be dead-lettered and
 *   alerted on, not retried forever).
 *
 * `retryable` says whether repeating the operation (after backoff, and after re-reading for a
 * stale update) can succeed without anything else changing first.
 */
export type ApiErrorClass =
  | 'quota-conflict'
  | 'quota-exceeded'
  | 'already-exists'
  | 'not-found'
  | 'gone'
  | 'throttled'
  | 'transient'
  | 'forbidden'
  | 'invalid';

/** The verdict on one error; `message` is the apiserver's own when it sent one. */
export interface ClassifiedApiError {
  class: ApiErrorClass;
  /** HTTP status, when the error came from an HTTP answer. */
  code?: number;
  /** metav1.Status reason (`Conflict`, `Forbidden`…), or the network error code (`ECONNRESET`). */
  reason?: string;
  message: string;
  retryAfterSeconds?: number;
  retryable: boolean;
}

interface StatusLike {
  kind?: string;
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: { name?: string; kind?: string; retryAfterSeconds?: number };
}

interface HttpFailure {
  code?: number;
  status?: StatusLike;
  text?: string;
  headers?: Record<string, string>;
}

/** Codes of network failures worth retrying: the connection, not the request, was the problem. */
const TRANSIENT_NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'ENOTFOUND',
  'ERR_STREAM_PREMATURE_CLOSE',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
]);
const TRANSIENT_NETWORK_MESSAGE = /socket hang up|premature close|network socket disconnected|other side closed|ECONNRESET|ETIMEDOUT|ECONNREFUSED/i;
const TRANSIENT_ERROR_NAMES = new Set(['AbortError', 'TimeoutError']);

/** Status reasons to codes, for a Status that carries no code. */
const REASON_CODES: Record<string, number> = {
  Unauthorized: 401,
  Forbidden: 403,
  NotFound: 404,
  MethodNotAllowed: 405,
  AlreadyExists: 409,
  Conflict: 409,
  Gone: 410,
  Expired: 410,
  UnsupportedMediaType: 415,
  Invalid: 422,
  TooManyRequests: 429,
  BadRequest: 400,
  InternalError: 500,
  ServiceUnavailable: 503,
  ServerTimeout: 504,
  Timeout: 504,
};

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function asStatus(value: unknown): StatusLike | undefined {
  if (!isRecord(value)) return undefined;
  if (value.kind === 'Status' || (typeof value.reason === 'string' && (value.status === 'Failure' || typeof value.code === 'number'))) {
    return value as StatusLike;
  }
  return undefined;
}

function parseBody(body: unknown): { status?: StatusLike; text?: string } {
  if (typeof body === 'string') {
    try {
      const status = asStatus(JSON.parse(body));
      if (status) return { status };
    } catch {
      // Not JSON: APF's 429 and proxies answer in plain text.
    }
    return { text: body };
  }
  if (Buffer.isBuffer(body)) return parseBody(body.toString('utf8'));
  return { status: asStatus(body) };
}

function lowerCaseHeaders(headers: unknown): Record<string, string> | undefined {
  if (!isRecord(headers)) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined) out[k.toLowerCase()] = Array.isArray(v) ? String(v[0]) : String(v);
  return out;
}

/** Reads an HTTP answer out of the shapes client-node and plain Status objects come in. */
function httpFailure(err: unknown): HttpFailure | undefined {
  const status = asStatus(err);
  if (status) return { code: status.code ?? (status.reason ? REASON_CODES[status.reason] : undefined), status };
  if (!isRecord(err)) return undefined;
  // client-node 1.x ApiException: numeric code, body as the raw response text, headers.
  // (DOMException also has a numeric code — 20 for AbortError — which is no HTTP status.)
  if (typeof err.code === 'number' && err.code >= 100 && err.code <= 599 && ('body' in err || 'headers' in err)) {
    return { code: err.code, ...parseBody(err.body), headers: lowerCaseHeaders(err.headers) };
  }
  // client-node's Watch rejects a non-200 answer with an Error carrying statusCode; 0.x errors had response.statusCode.
  const response = isRecord(err.response) ? err.response : undefined;
  const statusCode = typeof err.statusCode === 'number' ? err.statusCode : typeof response?.statusCode === 'number' ? response.statusCode : undefined;
  if (statusCode !== undefined) {
    return { code: statusCode, ...parseBody(err.body), headers: lowerCaseHeaders(response?.headers ?? err.headers) };
  }
  return undefined;
}

function networkReason(err: unknown, depth = 0): string | undefined {
  if (!isRecord(err) || depth > 5) return undefined;
  if (typeof err.code === 'string' && TRANSIENT_NETWORK_CODES.has(err.code)) return err.code;
  if (typeof err.name === 'string' && TRANSIENT_ERROR_NAMES.has(err.name)) return err.name;
  if (err.type === 'aborted' || err.type === 'request-timeout' || err.type === 'body-timeout') return String(err.type);
  if (typeof err.message === 'string' && TRANSIENT_NETWORK_MESSAGE.test(err.message)) return 'network';
  return networkReason(err.cause, depth + 1);
}

/** Retry-After as seconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
function retryAfter(failure: HttpFailure): number | undefined {
  const header = failure.headers?.['retry-after'];
  if (header !== undefined) {
    if (/^\d+$/.test(header.trim())) return Number(header.trim());
    const date = Date.parse(header);
    if (!Number.isNaN(date)) return Math.max(0, Math.ceil((date - Date.now()) / 1000));
  }
  const fromDetails = failure.status?.details?.retryAfterSeconds;
  return typeof fromDetails === 'number' && fromDetails > 0 ? fromDetails : undefined;
}

function messageOf(err: unknown, failure?: HttpFailure): string {
  const text = failure?.status?.message ?? failure?.text?.trim();
  if (text) return text;
  if (failure?.code !== undefined) return `The API server answered HTTP ${failure.code}${failure.status?.reason ? ` (${failure.status.reason})` : ''}.`;
  if (err instanceof Error) return err.message;
  return typeof err === 'string' ? err : JSON.stringify(err) ?? String(err);
}

function byCode(code: number, status: StatusLike | undefined, message: string): { class: ApiErrorClass; retryable: boolean } {
  const reason = status?.reason;
  switch (code) {
    case 401:
      return { class: 'forbidden', retryable: false };
    case 403:
      if (/exceeded quota/.test(message)) return { class: 'quota-exceeded', retryable: false };
      if (/failed quota: .*must specify/.test(message)) return { class: 'invalid', retryable: false };
      return { class: 'forbidden', retryable: false };
    case 404:
      return { class: 'not-found', retryable: false };
    case 408:
      return { class: 'transient', retryable: true };
    case 409:
      if (reason === 'AlreadyExists') return { class: 'already-exists', retryable: false };
      if (status?.details?.kind === 'resourcequotas' || /on resourcequotas\b/.test(message)) return { class: 'quota-conflict', retryable: true };
      return { class: 'transient', retryable: true };
    case 410:
      return { class: 'gone', retryable: true };
    case 429:
      return { class: 'throttled', retryable: true };
  }
  if (code >= 500) return { class: 'transient', retryable: true };
  return { class: 'invalid', retryable: false };
}

/**
 * Classifies anything a Kubernetes call can throw: a client-node 1.x `ApiException` (body as
 * JSON text, plain text for APF's 429, or nothing for a 401), a metav1.Status object, an Error
 * from client-node's Watch (`statusCode`), or a network error (ECONNRESET, timeouts, aborts).
 * @example
 * try { await core.createNamespacedPod({ namespace, body }) }
 * catch (err) { if (classifyApiError(err).class === 'quota-conflict') retryLater() }
 */
export function classifyApiError(err: unknown): ClassifiedApiError {
  const failure = httpFailure(err);
  if (failure?.code !== undefined) {
    const message = messageOf(err, failure);
    const { class: cls, retryable } = byCode(failure.code, failure.status, message);
    const result: ClassifiedApiError = { class: cls, code: failure.code, message, retryable };
    if (failure.status?.reason) result.reason = failure.status.reason;
    const after = retryAfter(failure);
    if (after !== undefined && (cls === 'throttled' || cls === 'transient' || cls === 'quota-conflict')) result.retryAfterSeconds = after;
    return result;
  }
  const network = networkReason(err);
  if (network) return { class: 'transient', reason: network, message: messageOf(err), retryable: true };
  return { class: 'invalid', message: messageOf(err), retryable: false };
}
