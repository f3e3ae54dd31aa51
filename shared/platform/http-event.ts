import * as z from 'zod';
import type { HttpInput } from './trigger.js';
import { isRecord } from './payload.js';

/**
 * A request path as HttpInput carries it, or undefined when its percent-encoding is broken. Every
 * host decodes the same way: decodeURI, not decodeURIComponent, so an encoded `/` (%2F) stays
 * inside its segment.
 */
export function decodeRequestPath(raw: string): string | undefined {
  try {
    return decodeURI(raw);
  } catch {
    return undefined;
  }
}

function decodePath(raw: string, ctx: z.RefinementCtx): string {
  const decoded = decodeRequestPath(raw);
  if (decoded === undefined) {
    ctx.addIssue({ code: 'custom', message: `the path ${JSON.stringify(raw.slice(0, 200))} is not valid percent-encoding` });
    return raw;
  }
  return decoded;
}

function lowerCaseKeys(headers: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    const key = name.toLowerCase();
    out[key] = key in out ? `${out[key]},${value}` : value;
  }
  return out;
}

function decodeBody(body: string | null | undefined, isBase64Encoded: boolean): Buffer {
  if (body === undefined || body === null) return Buffer.alloc(0);
  return Buffer.from(body, isBase64Encoded ? 'base64' : 'utf8');
}

/** Repeated query parameters joined with commas, as API Gateway's `queryStringParameters` and FC's `queryParameters` do. */
function parseQuery(raw: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(raw)) out[name] = name in out ? `${out[name]},${value}` : value;
  return out;
}

/**
 * An API Gateway HTTP API (payload format 2.0) or Lambda function URL event
 * (https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html#urls-payloads). Version 2.0
 * moves cookies out of `headers` into `cookies`; they are put back as one `cookie` header.
 */
export const lambdaHttpSchema = z
  .looseObject({
    version: z.literal('2.0'),
    rawPath: z.string().startsWith('/'),
    rawQueryString: z.string().default(''),
    cookies: z.array(z.string()).optional(),
    headers: z.record(z.string(), z.string()).optional(),
    requestContext: z.looseObject({
      domainName: z.string().optional(),
      http: z.looseObject({ method: z.string().min(1) }),
    }),
    body: z.string().nullish(),
    isBase64Encoded: z.boolean().default(false),
  })
  .transform((event, ctx): HttpInput => {
    const headers = lowerCaseKeys(event.headers);
    if (event.cookies && event.cookies.length > 0) headers.cookie = event.cookies.join('; ');
    return {
      kind: 'http',
      source: event.requestContext.domainName?.includes('.lambda-url.') ? 'aws:lambda-url' : 'aws:apigateway-v2',
      method: event.requestContext.http.method.toUpperCase(),
      path: decodePath(event.rawPath, ctx),
      query: parseQuery(event.rawQueryString),
      headers,
      body: decodeBody(event.body, event.isBase64Encoded),
    };
  });

export function isLambdaHttp(value: unknown): boolean {
  return isRecord(value) && value.version === '2.0' && 'rawPath' in value && 'requestContext' in value;
}

/**
 * FC 3.0's HTTP trigger event for built-in runtimes: `{ version: 'v1', rawPath, body, isBase64Encoded,
 * headers, queryParameters, requestContext: { http: { method, path, … } } }`
 * (https://www.alibabacloud.com/help/en/functioncompute/fc-3-0/user-guide/http-trigger-invoking-function).
 */
export const fcHttpSchema = z
  .looseObject({
    version: z.literal('v1'),
    rawPath: z.string().startsWith('/'),
    body: z.string().nullish(),
    isBase64Encoded: z.boolean().default(false),
    headers: z.record(z.string(), z.string()).optional(),
    queryParameters: z.record(z.string(), z.string()).optional(),
    requestContext: z.looseObject({ http: z.looseObject({ method: z.string().min(1) }) }),
  })
  .transform(
    (event, ctx): HttpInput => ({
      kind: 'http',
      source: 'acs:fc:http',
      method: event.requestContext.http.method.toUpperCase(),
      path: decodePath(event.rawPath, ctx),
      query: { ...event.queryParameters },
      headers: lowerCaseKeys(event.headers),
      body: decodeBody(event.body, event.isBase64Encoded),
    }),
  );

export function isFcHttp(value: unknown): boolean {
  return isRecord(value) && value.version === 'v1' && 'rawPath' in value && 'requestContext' in value;
}
