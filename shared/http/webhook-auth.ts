import { createHmac, timingSafeEqual } from 'node:crypto';
import { DEFAULT_WEBHOOK_MAX_AGE_SECONDS, isTimedSignature, timedSignatureProblem } from './timed-signature.js';

/** Header carrying `sha256=<hex HMAC of the raw body>`, as GitHub-style webhooks sign. */
export const SIGNATURE_HEADER = 'x-sparkfn-signature';

export interface WebhookAuthOptions {
  /** Accept `Authorization: Bearer <token>`. */
  token?: string;
  /** Accept `X-Sparkfn-Signature: sha256=<hex>` over the raw body, or `t=<unix>,v1=<hex>` over `<t>.<body>` (timed-signature.ts). */
  hmacSecret?: string;
  /** Window of timed signatures (default DEFAULT_WEBHOOK_MAX_AGE_SECONDS). */
  maxAgeSeconds?: number;
  /** The receiver's clock for timed signatures (default Date.now). */
  now?: () => number;
}

/** `sha256=<hex>` signature of `body`, for senders and tests. */
export function signBody(body: Buffer | string, secret: string): string {
  return 'sha256=' + createHmac('sha256', secret).update(body).digest('hex');
}

function sameSecret(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  // timingSafeEqual needs equal lengths; comparing against itself keeps the time independent of where they differ.
  return left.length === right.length ? timingSafeEqual(left, right) : (timingSafeEqual(left, left), false);
}

/**
 * What the headers alone say about a webhook request, so that the server refuses it before
 * reading a byte of its body: `authenticated` (the bearer token is right), `needs-body` (an HMAC
 * signature is present and the body must be read, within the body limit and timeout, to check
 * it with `webhookAuthProblem`), or `refused` with the reason.
 */
export type HeaderVerdict = { kind: 'authenticated' } | { kind: 'needs-body' } | { kind: 'refused'; problem: string };

/** The verdict on a webhook request from its headers; see `HeaderVerdict`. */
export function webhookHeaderVerdict(headers: Record<string, string>, options: WebhookAuthOptions): HeaderVerdict {
  if (options.hmacSecret && headers[SIGNATURE_HEADER]) {
    const authorization = headers['authorization'];
    const match = authorization ? /^Bearer\s+(.+)$/i.exec(authorization) : null;
    if (options.token && match && sameSecret(match[1]!.trim(), options.token)) return { kind: 'authenticated' };
    return { kind: 'needs-body' };
  }
  // Without a signature the body plays no part in the verdict: an empty one gives the same answer.
  const problem = webhookAuthProblem(headers, EMPTY, options);
  return problem ? { kind: 'refused', problem } : { kind: 'authenticated' };
}

const EMPTY = Buffer.alloc(0);

/**
 * Why a webhook request is not authenticated, or undefined when it is. With neither a token nor
 * a secret configured every request is refused: webhooks fail closed.
 */
export function webhookAuthProblem(headers: Record<string, string>, body: Buffer, options: WebhookAuthOptions): string | undefined {
  if (!options.token && !options.hmacSecret) {
    return 'webhook authentication is not configured: set SPARKFN_WEBHOOK_TOKEN or SPARKFN_WEBHOOK_HMAC_SECRET';
  }
  const authorization = headers['authorization'];
  if (options.token && authorization) {
    const match = /^Bearer\s+(.+)$/i.exec(authorization);
    if (match && sameSecret(match[1]!.trim(), options.token)) return undefined;
    if (!options.hmacSecret) return 'the bearer token is wrong';
  }
  const signature = headers[SIGNATURE_HEADER];
  if (options.hmacSecret && signature) {
    if (isTimedSignature(signature)) {
      return timedSignatureProblem(signature, body, { secret: options.hmacSecret, nowMs: (options.now ?? Date.now)(), maxAgeSeconds: options.maxAgeSeconds ?? DEFAULT_WEBHOOK_MAX_AGE_SECONDS });
    }
    if (sameSecret(signature.trim().toLowerCase(), signBody(body, options.hmacSecret))) return undefined;
    return 'the body signature is wrong';
  }
  if (authorization && options.token) return 'the bearer token is wrong';
  return options.hmacSecret && options.token
    ? `missing credentials: send Authorization: Bearer <token> or ${SIGNATURE_HEADER}: sha256=<hmac>`
    : options.token
      ? 'missing credentials: send Authorization: Bearer <token>'
      : `missing signature: send ${SIGNATURE_HEADER}: sha256=<hmac of the body>`;
}
