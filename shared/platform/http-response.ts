import { InvalidInputError } from '../errors.js';
import type { HttpResult } from './trigger.js';
import { isRecord } from './payload.js';

/**
 * The response both HTTP triggers we serve expect from a function: API Gateway HTTP API / function
 * URL (payload format 2.0, https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html)
 * and FC 3.0's HTTP trigger (https://www.alibabacloud.com/help/en/functioncompute/fc-3-0/user-guide/http-trigger-invoking-function).
 * Both carry bytes as base64 with `isBase64Encoded: true`.
 */
export interface HttpTriggerResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
  isBase64Encoded: boolean;
}

/** True when a core returned an HttpResult (a status code and optional headers and body). */
export function isHttpResult(value: unknown): value is HttpResult {
  return isRecord(value) && Number.isInteger(value.status) && (value.status as number) >= 100 && (value.status as number) <= 599;
}

/** Reads a body stream to its end (log-viewer streams archived logs; neither trigger can stream a response). */
async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer | string>) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks);
}

/**
 * Maps what a core returned for an HTTP delivery to the trigger's response. An HttpResult keeps its
 * status and headers; a string body is sent as text, bytes and streams as base64 (the platforms
 * cannot carry raw bytes in JSON). Any other result (a run summary, e.g. for a kube-eventer
 * webhook) is sent as 200 JSON.
 */
export async function toHttpTriggerResponse(result: unknown): Promise<HttpTriggerResponse> {
  if (!isHttpResult(result)) {
    return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(result ?? null), isBase64Encoded: false };
  }
  const headers = { ...result.headers };
  const body = result.body;
  if (body === undefined) return { statusCode: result.status, headers, body: '', isBase64Encoded: false };
  if (typeof body === 'string') return { statusCode: result.status, headers, body, isBase64Encoded: false };
  const bytes = Buffer.isBuffer(body) ? body : await readAll(body);
  return { statusCode: result.status, headers, body: bytes.toString('base64'), isBase64Encoded: true };
}

/**
 * The response for an error thrown while serving an HTTP delivery: the caller's mistake
 * (InvalidInputError) is a 400 with a JSON body naming it; anything else is rethrown so the
 * platform records a failed invocation.
 */
export function httpErrorResponse(err: unknown): HttpTriggerResponse {
  if (!(err instanceof InvalidInputError)) throw err;
  return {
    statusCode: 400,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ error: err.name, reason: err.reason, message: err.message }),
    isBase64Encoded: false,
  };
}
