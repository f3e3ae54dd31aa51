/** Backoff settings: full jitter over an exponential ceiling (AWS Architecture Blog, "Exponential Backoff And Jitter"). */
export interface BackoffPolicy {
  baseMs: number;
  capMs: number;
  /** Creates tried per object in one invocation, the first included. */
  maxAttempts: number;
}

/**
 * Wait before retry number `retry` (1 for the first retry): a uniform draw from
 * [0, min(cap, base·2^(retry-1))). Full jitter spreads a burst of hundreds of colliding
 * submitters best: they stop racing on the same quota object in lockstep.
 * `retryAfterSeconds` from a 429 is a floor.
 * @example backoffDelay({ baseMs: 250, capMs: 10_000, maxAttempts: 8 }, 3, () => 0.5) // 500
 */
export function backoffDelay(policy: BackoffPolicy, retry: number, random: () => number, retryAfterSeconds?: number): number {
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.max(0, retry - 1));
  const jittered = Math.floor(random() * ceiling);
  return retryAfterSeconds !== undefined ? Math.max(jittered, retryAfterSeconds * 1000) : jittered;
}

/** Resolves after `ms`, or at once (false) when `signal` aborts first: the invocation's deadline is near. */
export function sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
