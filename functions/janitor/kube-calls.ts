import type { KubeConfig } from '@kubernetes/client-node';
import { DeadlineError } from '../../shared/errors.js';
import { classifyApiError } from '../../shared/k8s/classify-api-error.js';
import { createKubeClients, type KubeClients } from '../../shared/k8s/client.js';
import { requestJson, type RawRequest } from '../../shared/k8s/raw-request.js';

/** Tries of one call that failed with a throttle or a transient error (every call janitor makes is idempotent). */
const MAX_ATTEMPTS = 3;
/** First pause after a transient failure without Retry-After; doubles per try. */
const RETRY_BASE_MS = 200;

/** One call as janitor counts it: `deletecollection pods`, `list configmaps`. */
export interface CallRecord {
  verb: 'list' | 'delete' | 'deletecollection';
  resource: string;
}

function wait(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new DeadlineError());
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new DeadlineError());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * janitor's way to the apiserver: raw JSON requests (a deletecollection's answer is the list of
 * what it deleted, which client-node's typed calls decode as V1Status and lose) under a
 * client-side QPS cap, with throttles and transient errors retried, every call counted.
 */
export class KubeCalls {
  /** Calls sent, retries included. */
  calls = 0;
  private nextSlotMs = 0;
  private clients: Promise<KubeClients> | undefined;

  constructor(
    readonly kubeConfig: KubeConfig,
    private readonly options: { qps: number; signal?: AbortSignal; onCall?: (call: CallRecord) => void },
  ) {}

  /** One raw JSON request (lists, deletecollection). */
  request<T>(call: CallRecord, req: RawRequest): Promise<T> {
    // The deadline is not passed on: a call in flight finishes, so its answer (what was deleted) is not lost.
    return this.send(call, () => requestJson<T>(this.kubeConfig, req));
  }

  /** One call through client-node's typed APIs (per-object deletes, which carry a DeleteOptions body). */
  typed<T>(call: CallRecord, send: (clients: KubeClients) => Promise<T>): Promise<T> {
    this.clients ??= createKubeClients(this.kubeConfig);
    const clients = this.clients;
    return this.send(call, async () => send(await clients));
  }

  private async send<T>(call: CallRecord, attemptOnce: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      await this.pace();
      this.calls++;
      this.options.onCall?.(call);
      try {
        return await attemptOnce();
      } catch (err) {
        if (this.options.signal?.aborted) throw new DeadlineError();
        const verdict = classifyApiError(err);
        // A 409 here is a failed delete precondition (the object was replaced): asking again cannot help.
        if (attempt >= MAX_ATTEMPTS || verdict.code === 409 || !(verdict.class === 'throttled' || verdict.class === 'transient')) throw err;
        await wait(verdict.retryAfterSeconds !== undefined ? verdict.retryAfterSeconds * 1000 : RETRY_BASE_MS * 2 ** (attempt - 1), this.options.signal);
      }
    }
  }

  /** Whether the run's deadline signal fired: take no new work. */
  signalAborted(): boolean {
    return this.options.signal?.aborted ?? false;
  }

  /** Spaces call starts 1/qps apart (a token bucket of one), as client-go's rate limiter does with burst 1. */
  private async pace(): Promise<void> {
    if (this.options.qps <= 0) return;
    const now = performance.now();
    const slot = Math.max(now, this.nextSlotMs);
    this.nextSlotMs = slot + 1000 / this.options.qps;
    if (slot > now) await wait(slot - now, this.options.signal);
  }
}
