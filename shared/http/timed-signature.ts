import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * How long a timed signature stays good: long enough for clock skew and a submitter's retries,
 * short enough that a captured request is useless soon after (Stripe's default tolerance is the same 5 min).
 */
export const DEFAULT_WEBHOOK_MAX_AGE_SECONDS = 300;

/** `t=<unix seconds>,v1=<hex>`: the form of `X-Sparkfn-Signature` that covers a time. */
const TIMED = /^t=(\d{1,12}),v1=([0-9a-f]{64})$/i;

/** Whether a signature header value is the timed form (else the body-only `sha256=<hex>` of earlier releases). */
export function isTimedSignature(header: string): boolean {
  return header.trim().startsWith('t=');
}

function hmac(secret: string, timestamp: string, body: Buffer | string): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
}

/**
 * The `X-Sparkfn-Signature` value for `body` sent at `nowMs`: `t=<unix seconds>,v1=<hex
 * HMAC-SHA256 of "<t>.<raw body>">`, as Stripe signs its webhooks.
 * @example
 * headers['x-sparkfn-signature'] = signTimed(body, secret, Date.now());
 */
export function signTimed(body: Buffer | string, secret: string, nowMs: number): string {
  const t = String(Math.floor(nowMs / 1000));
  return `t=${t},v1=${hmac(secret, t, body)}`;
}

/** What the check needs besides the request. */
export interface TimedSignatureOptions {
  secret: string;
  /** The receiver's time, ms since the epoch. */
  nowMs: number;
  /** Oldest (and furthest in the future, for clock skew) a signature may be. */
  maxAgeSeconds: number;
}

/**
 * Why a timed signature does not authenticate `body`, or undefined when it does: the HMAC covers
 * the time, and a time outside ±maxAgeSeconds of now is refused, so a captured request cannot be
 * replayed after the window. Inside the window the receiver must make a repeat harmless itself
 * (quota-retry: its admitted facts).
 */
export function timedSignatureProblem(header: string, body: Buffer, options: TimedSignatureOptions): string | undefined {
  const match = TIMED.exec(header.trim());
  if (!match) return 'the signature is not t=<unix seconds>,v1=<hex hmac>';
  const [, t, v1] = match as unknown as [string, string, string];
  const expected = Buffer.from(hmac(options.secret, t, body), 'hex');
  const given = Buffer.from(v1.toLowerCase(), 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'the body signature is wrong';
  const ageSeconds = options.nowMs / 1000 - Number(t);
  if (Math.abs(ageSeconds) > options.maxAgeSeconds) {
    return `the signature's time is ${Math.round(ageSeconds)} s ${ageSeconds > 0 ? 'old' : 'ahead'}, outside the ${options.maxAgeSeconds} s window (SPARKFN_WEBHOOK_MAX_AGE_SECONDS): sign each request when it is sent`;
  }
  return undefined;
}
