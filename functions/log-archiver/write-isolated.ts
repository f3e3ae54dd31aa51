import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigError, DeadlineError } from '../../shared/errors.js';

/** First wait before a failed write is tried again; it doubles per attempt. */
export const RETRY_BASE_DELAY_MS = 100;
/** Longest wait between two attempts of one write: a batch with a bad write still ends in seconds. */
export const RETRY_MAX_DELAY_MS = 2_000;

/** One object of a batch to write. `put` must be idempotent: it is called again after a failure. */
export interface IsolatedWrite {
  put(): Promise<void>;
}

/** A write that failed on every attempt. */
export interface FailedWrite<T> {
  item: T;
  attempts: number;
  error: unknown;
}

/** What `writeIsolated` did. */
export interface IsolatedWriteResult<T> {
  /** Items written (on any attempt). */
  written: number;
  /** Attempts after the first, over all items. */
  retries: number;
  /** Items that failed `maxAttempts` times, with their last error. */
  failed: FailedWrite<T>[];
}

export interface IsolatedWriteOptions {
  /** Attempts per item, the first included (at least 1). */
  maxAttempts: number;
  /** Items written at once in the first round. */
  concurrency: number;
  /** Aborted: no further attempt starts, and the call rejects with DeadlineError. */
  signal?: AbortSignal;
  /** Default RETRY_BASE_DELAY_MS; tests make it 0. */
  baseDelayMs?: number;
}

/**
 * Writes every item, `concurrency` at a time, without stopping at the first failure (as
 * mapConcurrently would): one object that cannot be written must not keep the others from
 * being written. The items that failed are tried again **one at a time**, each alone, with a
 * doubling wait between rounds, until each was written or failed `maxAttempts` times; those are
 * returned, with their last error, for the caller to decide whether the record is at fault or
 * the store is down. A ConfigError (the bucket does not exist) is thrown at once: it fails for
 * everyone, so no record is to blame.
 * @example const { failed } = await writeIsolated(chunks, { maxAttempts: 5, concurrency: 16 });
 */
export async function writeIsolated<T extends IsolatedWrite>(items: readonly T[], options: IsolatedWriteOptions): Promise<IsolatedWriteResult<T>> {
  const maxAttempts = Math.max(1, options.maxAttempts);
  const baseDelayMs = options.baseDelayMs ?? RETRY_BASE_DELAY_MS;
  let written = 0;
  let retries = 0;
  let failing: FailedWrite<T>[] = [];

  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++] as T;
      try {
        await item.put();
        written++;
      } catch (error) {
        if (error instanceof ConfigError) throw error;
        failing.push({ item, attempts: 1, error });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency, items.length) }, worker));

  for (let attempt = 2; attempt <= maxAttempts && failing.length > 0; attempt++) {
    await wait(Math.min(RETRY_MAX_DELAY_MS, baseDelayMs * 2 ** (attempt - 2)), options.signal);
    const still: FailedWrite<T>[] = [];
    for (const failure of failing) {
      if (options.signal?.aborted) throw deadline();
      retries++;
      try {
        await failure.item.put();
        written++;
      } catch (error) {
        if (error instanceof ConfigError) throw error;
        still.push({ item: failure.item, attempts: attempt, error });
      }
    }
    failing = still;
  }
  return { written, retries, failed: failing };
}

async function wait(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (signal?.aborted) throw deadline();
  if (ms <= 0) return;
  try {
    await sleep(ms, undefined, signal ? { signal } : {});
  } catch (err) {
    if (signal?.aborted) throw deadline();
    throw err;
  }
}

function deadline(): DeadlineError {
  return new DeadlineError('The invocation deadline passed while failed writes were being retried; the batch will be delivered again.');
}

/** Network failures: the store could not be reached, whichever key was written. */
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'ETIMEDOUT']);
/** Filesystem failures of the whole volume, not of one name: I/O error, full, read-only, over quota, out of descriptors. */
const VOLUME_CODES = new Set(['EIO', 'ENOSPC', 'EROFS', 'EDQUOT', 'EMFILE', 'ENFILE']);
/** S3 / OSS error codes that say the service, not the request, is at fault. */
const SERVICE_ERROR_NAMES = new Set(['ServiceUnavailable', 'SlowDown', 'InternalError', 'RequestTimeout', 'TimeoutError', 'RequestTimeTooSkewed']);

/**
 * Whether `err` says the store is unavailable for every key (unreachable, 5xx, throttling, a
 * full or read-only volume) rather than that this one write is refused. Such a failure never
 * makes a record poison: the batch fails and is delivered again until the store is back. The
 * error's `cause` chain is followed (the stores wrap SDK and fs errors).
 */
export function isStoreUnavailable(err: unknown): boolean {
  for (let e = err, depth = 0; e !== null && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status !== undefined && (status >= 500 || status === 429 || status === 408)) return true;
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (UNREACHABLE_CODES.has(code) || VOLUME_CODES.has(code))) return true;
    if (SERVICE_ERROR_NAMES.has(String((e as { name?: unknown }).name))) return true;
  }
  return false;
}
