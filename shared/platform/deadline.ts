import { DeadlineError } from '../errors.js';

/**
 * How long before the platform's hard timeout the invocation's signal fires. A core then stops
 * taking new work and flushes: the last gzip + PUT of a log chunk (a few MB to OSS/S3) and the
 * summary line fit in 3 s. This plays the part of middy's `timeoutEarlyInMillis`, whose 5 ms
 * default only leaves time to return, not to finish a write.
 */
export const DEADLINE_MARGIN_MS = 3_000;

/**
 * Never spend more than this share of the remaining time on the margin, so that a function with a
 * short timeout (Lambda's default is 3 s) still gets to work before its signal fires.
 */
export const MAX_MARGIN_SHARE = 0.25;

/** An AbortSignal that fires `marginMs` before `remainingMs` runs out, with a DeadlineError as its reason. */
export interface Deadline {
  signal: AbortSignal;
  /** When the signal fires, in ms since the epoch. */
  firesAt: number;
  /** Clears the timer (call when the invocation ends, so an idle container keeps no timer). */
  dispose(): void;
}

/**
 * Starts the deadline timer for one invocation.
 * @example const deadline = startDeadline(context.getRemainingTimeInMillis()); try { … } finally { deadline.dispose(); }
 */
export function startDeadline(remainingMs: number, marginMs: number = DEADLINE_MARGIN_MS, now: () => number = Date.now): Deadline {
  const remaining = Number.isFinite(remainingMs) ? Math.max(0, remainingMs) : 0;
  const margin = Math.min(Math.max(0, marginMs), remaining * MAX_MARGIN_SHARE);
  const delay = Math.max(0, Math.floor(remaining - margin));
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new DeadlineError(`The invocation deadline is ${Math.round(margin)} ms away: stop taking new work and flush.`)),
    delay,
  );
  // A pending deadline must not keep a local process (tests, `sparkfn invoke`) alive.
  timer.unref();
  return { signal: controller.signal, firesAt: now() + delay, dispose: () => clearTimeout(timer) };
}
