import type { Random } from './rng.js';
import type { ApiVerb } from './routing.js';
import { internalError, serviceUnavailable, tooManyRequests, type StatusError } from './status.js';

/** Which requests a fault applies to; unset fields match anything. */
export interface RequestFilter {
  verb?: ApiVerb;
  group?: string;
  resource?: string;
  namespace?: string;
  /** `log`, `status`, …; a filter without it matches the resource and all its subresources. */
  subresource?: string;
}

/** How a watch stream is dropped: `destroy` resets the connection, `end` closes it cleanly (like a server timeout). */
export type DropMode = 'destroy' | 'end';

/**
 * How a cut connection fails: `reset` drops each request's connection at once (ECONNRESET),
 * `hang` never answers (a partition: packets go nowhere) until the cut is lifted, when the
 * held connections are reset.
 */
export type CutMode = 'reset' | 'hang';

/** A prepared raw response that replaces the request's real answer. */
export interface FaultResponse {
  code: number;
  headers: Record<string, string>;
  body: string;
}

interface ArmedFault {
  remaining: number;
  filter: RequestFilter;
  respond: () => FaultResponse;
}

/**
 * The body API Priority and Fairness (and max-in-flight) send: plain text from Go's
 * http.Error, not a Status (k8s.io/apiserver/pkg/server/filters/maxinflight.go tooManyRequests).
 */
export const APF_TOO_MANY_REQUESTS_BODY = 'Too many requests, please try again later.\n';

function statusResponse(err: StatusError): FaultResponse {
  return {
    code: err.code,
    headers: { 'Content-Type': 'application/json', ...err.headers },
    body: `${JSON.stringify(err.status)}\n`,
  };
}

function matches(filter: RequestFilter, call: RequestFilter): boolean {
  return (Object.keys(filter) as (keyof RequestFilter)[]).every((k) => filter[k] === undefined || filter[k] === call[k]);
}

/**
 * Fault switches for tests. Request faults are consumed in the order they were armed; each
 * counts down only on requests its filter matches.
 */
export class FaultControls {
  private readonly armed: ArmedFault[] = [];
  private latency = 0;
  private quotaConflictsLeft = 0;
  private quotaConflictProbability = 0;
  private dropAfter: { remaining: number; mode: DropMode } | undefined;
  private readonly lostAnswers: { remaining: number; filter: RequestFilter }[] = [];
  private readonly cuts = new Map<string, CutMode>();
  private readonly held = new Map<string, Set<() => void>>();

  constructor(
    private readonly random: Random,
    private readonly dropAllWatches: (mode: DropMode) => number,
  ) {}

  /**
   * The next `count` matching requests get 429 with `Retry-After`. By default with APF's
   * plain-text body; `body: 'status'` sends the TooManyRequests Status (details.retryAfterSeconds) instead.
   */
  throttle(count: number, options: RequestFilter & { retryAfterSeconds?: number; body?: 'text' | 'status' } = {}): void {
    const { retryAfterSeconds = 1, body = 'text', ...filter } = options;
    this.arm(count, filter, () =>
      body === 'status'
        ? statusResponse(tooManyRequests(retryAfterSeconds))
        : {
            code: 429,
            headers: {
              'Content-Type': 'text/plain; charset=utf-8',
              'X-Content-Type-Options': 'nosniff',
              'Retry-After': String(retryAfterSeconds),
            },
            body: APF_TOO_MANY_REQUESTS_BODY,
          },
    );
  }

  /** The next `count` matching requests get 500 InternalError. */
  internalError(count: number, filter: RequestFilter = {}, cause = 'injected fault'): void {
    this.arm(count, filter, () => statusResponse(internalError(cause)));
  }

  /** The next `count` matching requests get 503 ServiceUnavailable (an apiserver behind a restarting LB). */
  serviceUnavailable(count: number, filter: RequestFilter & { retryAfterSeconds?: number } = {}): void {
    const { retryAfterSeconds, ...rest } = filter;
    this.arm(count, rest, () => statusResponse(serviceUnavailable(undefined, retryAfterSeconds)));
  }

  /** Delays every request (watch streams included) by `ms` before it is handled. */
  setLatency(ms: number): void {
    this.latency = Math.max(0, ms);
  }

  get latencyMs(): number {
    return this.latency;
  }

  /** Drops every open watch stream now; returns how many were open. */
  dropWatches(mode: DropMode = 'destroy'): number {
    return this.dropAllWatches(mode);
  }

  /** Drops every open watch stream right after the next `count` watch events have been written (any stream). */
  dropWatchesAfterEvents(count: number, mode: DropMode = 'destroy'): void {
    this.dropAfter = { remaining: Math.max(1, count), mode };
  }

  /**
   * Injects the 409 Conflict on the namespace's ResourceQuota that pod creates get when two
   * apiserver replicas race: on the next `next` creates that a quota tracks, and/or on each
   * such create with `probability` (drawn from the seeded RNG). Only namespaces that have a
   * ResourceQuota can race on one.
   */
  quotaConflicts(options: { next?: number; probability?: number }): void {
    this.quotaConflictsLeft = options.next ?? 0;
    this.quotaConflictProbability = options.probability ?? 0;
  }

  /**
   * The next `count` matching requests are carried out (a create is stored, quota charged) but
   * their answer is lost: the connection is reset instead of answered, as when a load balancer or
   * the client's network drops it. The caller cannot tell whether its write happened.
   */
  loseAnswers(count: number, filter: RequestFilter = {}): void {
    if (count > 0) this.lostAnswers.push({ remaining: count, filter });
  }

  /**
   * Cuts the named user off the apiserver (a network partition between one client and the
   * control plane): every request it makes from now on, after authentication, is reset or left
   * unanswered (`mode`), while every other user is served as before.
   */
  cutConnections(user: string, mode: CutMode = 'hang'): void {
    this.cuts.set(user, mode);
  }

  /** Lifts the cut on `user` (every user when omitted); requests held by a `hang` cut are reset. */
  restoreConnections(user?: string): void {
    for (const name of user === undefined ? [...this.cuts.keys()] : [user]) {
      this.cuts.delete(name);
      for (const release of this.held.get(name) ?? []) release();
      this.held.delete(name);
    }
  }

  /** Disarms everything. */
  reset(): void {
    this.restoreConnections();
    this.armed.length = 0;
    this.lostAnswers.length = 0;
    this.latency = 0;
    this.quotaConflictsLeft = 0;
    this.quotaConflictProbability = 0;
    this.dropAfter = undefined;
  }

  /** @internal The fault response for this request, if one is armed for it. */
  takeRequestFault(call: RequestFilter): FaultResponse | undefined {
    const index = this.armed.findIndex((f) => f.remaining > 0 && matches(f.filter, call));
    if (index < 0) return undefined;
    const fault = this.armed[index]!;
    fault.remaining -= 1;
    if (fault.remaining === 0) this.armed.splice(index, 1);
    return fault.respond();
  }

  /** @internal Whether this request's answer, once it has been carried out, is to be lost. */
  takeLostAnswer(call: RequestFilter): boolean {
    const index = this.lostAnswers.findIndex((f) => f.remaining > 0 && matches(f.filter, call));
    if (index < 0) return false;
    const lost = this.lostAnswers[index]!;
    lost.remaining -= 1;
    if (lost.remaining === 0) this.lostAnswers.splice(index, 1);
    return true;
  }

  /**
   * @internal How this user's request fails when its connection is cut; for `hang`, `release`
   * is kept and called (to reset the connection) when the cut is lifted.
   */
  takeCut(user: string, release: () => void): CutMode | undefined {
    const mode = this.cuts.get(user);
    if (mode === 'hang') {
      const set = this.held.get(user) ?? new Set();
      set.add(release);
      this.held.set(user, set);
    }
    return mode;
  }

  /** @internal Whether this quota-tracked create should lose the race on the quota object. */
  takeQuotaConflict(): boolean {
    if (this.quotaConflictsLeft > 0) {
      this.quotaConflictsLeft -= 1;
      return true;
    }
    return this.quotaConflictProbability > 0 && this.random() < this.quotaConflictProbability;
  }

  /** @internal Called after each watch event is written; says how to drop the streams when it is time. */
  watchEventWritten(): DropMode | undefined {
    if (!this.dropAfter) return undefined;
    this.dropAfter.remaining -= 1;
    if (this.dropAfter.remaining > 0) return undefined;
    const { mode } = this.dropAfter;
    this.dropAfter = undefined;
    return mode;
  }

  private arm(count: number, filter: RequestFilter, respond: () => FaultResponse): void {
    if (count > 0) this.armed.push({ remaining: count, filter, respond });
  }
}
