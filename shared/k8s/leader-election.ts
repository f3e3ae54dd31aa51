import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { CoordinationV1Api, KubeConfig, V1Lease } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { systemClock, type Clock } from '../clock.js';
import { DEFAULT_LEASE_DURATION_MS, DEFAULT_LEASE_RENEW_DEADLINE_MS as DEFAULT_RENEW_DEADLINE_MS, DEFAULT_LEASE_RETRY_PERIOD_MS as DEFAULT_RETRY_PERIOD_MS } from '../config.js';
import { ConfigError } from '../errors.js';
import { silentLogger } from '../logger.js';
import { classifyApiError } from './classify-api-error.js';
import { loadCoordinationClient, type CoordinationClientModule } from './load-coordination-client.js';
import { watchResource } from './watch.js';

/** client-go's defaults (as kube-controller-manager sets them), defined with the rest of the configuration. */
export { DEFAULT_LEASE_DURATION_MS, DEFAULT_LEASE_RENEW_DEADLINE_MS as DEFAULT_RENEW_DEADLINE_MS, DEFAULT_LEASE_RETRY_PERIOD_MS as DEFAULT_RETRY_PERIOD_MS } from '../config.js';
/** client-go retries acquisition with wait.JitterUntil(retryPeriod, 1.2): every 2 s to 4.4 s. */
export const JITTER_FACTOR = 1.2;
/** client-go's release writes leaseDurationSeconds 1 and an empty holder, so followers take over at once. */
const RELEASED_LEASE_DURATION_SECONDS = 1;
/** A follower whose lease expiry check is due wakes this long after it, so that `>` has passed. */
const EXPIRY_MARGIN_MS = 5;

/** A Lease's spec as the election reads it. Times are MicroTime strings as the apiserver sends them. */
export interface LeaderRecord {
  holderIdentity: string;
  leaseDurationSeconds: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions: number;
  resourceVersion?: string;
}

/** What `snapshot()` reports, for /metrics, /readyz and `sparkfn doctor`. */
export interface LeaderSnapshot {
  lease: string;
  identity: string;
  leading: boolean;
  /** The holder last seen on the Lease; undefined when nobody holds it (or it was never read). */
  leader?: string;
  leaseTransitions?: number;
  renewTime?: string;
}

/** Options of `LeaderElector`; durations in milliseconds. */
export interface LeaderElectionOptions {
  kubeConfig: KubeConfig;
  namespace: string;
  /** The Lease's name. */
  name: string;
  /** Unique per process (client-go convention: `<hostname>_<uuid>`); see `defaultIdentity()`. */
  identity?: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  /** Reads "now" for the times written to the Lease and for local expiry; only its differences matter. */
  clock?: Clock;
  random?: () => number;
  logger?: Logger;
  /**
   * Called when this process becomes the leader; `signal` aborts when it stops leading (renew
   * deadline passed, lease lost, or shutdown). Work it starts must stop when the signal aborts;
   * the returned promise, when given, is awaited before the lease is released on shutdown.
   */
  onStartedLeading: (signal: AbortSignal) => void | Promise<void>;
  onStoppedLeading?: (reason: string) => void;
  /**
   * Called after each round with whether the apiserver answered it (a follower that read a valid
   * lease held by another answered fine; a refused, failed or timed-out request did not).
   */
  onAttempt?: (answered: boolean, error?: string) => void;
  /** Called whenever the observed holder changes (undefined: released or deleted). */
  onNewLeader?: (identity: string | undefined) => void;
  /**
   * Also watch the Lease, so that a follower sees a release or a renewal as it happens instead of
   * at its next poll: a released lease is taken over in milliseconds, an expired one as soon as
   * it expires. Polling (client-go's protocol) still decides; the watch only wakes it. Default true.
   */
  watch?: boolean;
}

type Attempt = 'ok' | 'held' | 'lost' | 'error';

/** `<hostname>_<uuid>`: unique even when a pod restarts under the same name. */
export function defaultIdentity(): string {
  return `${hostname()}_${randomUUID()}`;
}

function microTimeString(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  return value instanceof Date ? value.toISOString() : String(value);
}

function recordOf(lease: V1Lease | { metadata?: { resourceVersion?: string }; spec?: Record<string, unknown> }): LeaderRecord {
  const spec = (lease.spec ?? {}) as Record<string, unknown>;
  return {
    holderIdentity: typeof spec.holderIdentity === 'string' ? spec.holderIdentity : '',
    leaseDurationSeconds: typeof spec.leaseDurationSeconds === 'number' ? spec.leaseDurationSeconds : 0,
    acquireTime: microTimeString(spec.acquireTime),
    renewTime: microTimeString(spec.renewTime),
    leaseTransitions: typeof spec.leaseTransitions === 'number' ? spec.leaseTransitions : 0,
    resourceVersion: lease.metadata?.resourceVersion,
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), Math.max(0, ms));
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Leader election on a coordination.k8s.io/v1 Lease, client-go's protocol
 * (tools/leaderelection): a follower takes the lease only when its holder is empty or has not
 * changed the record for `leaseDurationSeconds` as measured on the follower's own clock since it
 * last saw a change (so clock offsets between replicas do not matter); every write is an update
 * conditional on the resourceVersion read, so of two contenders one gets 409 Conflict and loses.
 * The leader renews every `retryPeriod`; when no renewal has succeeded within `renewDeadline` of
 * the last successful one being sent, it stops leading (aborts the work's signal) — before any
 * follower can consider the lease expired, since `renewDeadline < leaseDuration`. `stop()`
 * releases the lease (empty holder) so that a follower takes over at once.
 * @example
 * const elector = new LeaderElector({ kubeConfig, namespace: 'spark', name: 'sparkfn-singletons',
 *   onStartedLeading: (signal) => runTimers(signal) });
 * elector.start();
 * process.once('SIGTERM', () => void elector.stop());
 */
export class LeaderElector {
  readonly identity: string;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly logger: Logger;
  private leading = false;
  private stopped = false;
  private observed: LeaderRecord | undefined;
  private observedAt = 0;
  private deadlineAt = 0;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private workAbort: AbortController | undefined;
  private work: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private running: Promise<void> | undefined;
  private readonly watchAbort = new AbortController();
  private api: CoordinationV1Api | undefined;
  private k8s: CoordinationClientModule | undefined;

  constructor(private readonly options: LeaderElectionOptions) {
    this.identity = options.identity ?? defaultIdentity();
    this.leaseDurationMs = options.leaseDurationMs ?? DEFAULT_LEASE_DURATION_MS;
    this.renewDeadlineMs = options.renewDeadlineMs ?? DEFAULT_RENEW_DEADLINE_MS;
    this.retryPeriodMs = options.retryPeriodMs ?? DEFAULT_RETRY_PERIOD_MS;
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.logger = options.logger ?? silentLogger;
    // The checks of client-go's NewLeaderElector, which make the no-two-leaders argument hold.
    if (this.leaseDurationMs <= this.renewDeadlineMs) {
      throw new ConfigError('Invalid configuration: the lease duration must be greater than the renew deadline.', [
        { variable: 'SPARKFN_LEASE_DURATION_MS', message: 'set a lease duration above SPARKFN_LEASE_RENEW_DEADLINE_MS' },
      ]);
    }
    if (this.renewDeadlineMs <= JITTER_FACTOR * this.retryPeriodMs) {
      throw new ConfigError(`Invalid configuration: the renew deadline must be greater than ${JITTER_FACTOR} × the retry period.`, [
        { variable: 'SPARKFN_LEASE_RENEW_DEADLINE_MS', message: `set a renew deadline above ${JITTER_FACTOR} × SPARKFN_LEASE_RETRY_PERIOD_MS` },
      ]);
    }
    if (this.leaseDurationMs % 1000 !== 0) {
      throw new ConfigError('Invalid configuration: the lease duration must be whole seconds (leaseDurationSeconds).', [
        { variable: 'SPARKFN_LEASE_DURATION_MS', message: 'use whole seconds, e.g. 15000' },
      ]);
    }
  }

  /** Whether this process leads now (its work's signal is live). */
  get isLeader(): boolean {
    return this.leading;
  }

  snapshot(): LeaderSnapshot {
    return {
      lease: `${this.options.namespace}/${this.options.name}`,
      identity: this.identity,
      leading: this.leading,
      ...(this.observed?.holderIdentity ? { leader: this.observed.holderIdentity } : {}),
      ...(this.observed ? { leaseTransitions: this.observed.leaseTransitions, renewTime: this.observed.renewTime } : {}),
    };
  }

  /** Starts contending; idempotent. */
  start(): void {
    this.running ??= this.loop().catch((err: unknown) => {
      this.logger.error({ err, lease: this.options.name }, 'leader election stopped on an error');
      this.stopLeading('leader election failed');
    });
  }

  /**
   * Stops contending. A leader aborts its work, waits for it (never past its renew deadline),
   * then releases the lease (empty holder, leaseDurationSeconds 1) unless `release` is false.
   */
  async stop(options: { release?: boolean } = {}): Promise<void> {
    if (this.stopped) return this.running;
    this.stopped = true;
    this.watchAbort.abort();
    this.wake?.();
    const wasLeading = this.leading;
    const work = this.work;
    const deadlineAt = this.deadlineAt;
    this.stopLeading('shutting down');
    if (wasLeading && work) await withTimeout(work, deadlineAt - this.clock.now());
    if (wasLeading && options.release !== false && this.clock.now() < deadlineAt) {
      await withTimeout(this.release(), deadlineAt - this.clock.now());
    }
    await this.running;
  }

  private async client(): Promise<CoordinationV1Api> {
    if (!this.api) {
      this.k8s = await loadCoordinationClient();
      this.api = this.options.kubeConfig.makeApiClient(this.k8s.CoordinationV1Api);
    }
    return this.api;
  }

  private async loop(): Promise<void> {
    const api = await this.client();
    if (this.options.watch !== false) this.watchLease();
    while (!this.stopped) {
      if (!this.leading) {
        const sentAt = this.clock.now();
        const result = await this.attempt(api, this.renewDeadlineMs);
        if (result === 'ok' && !this.stopped) {
          this.becomeLeader(sentAt);
          continue;
        }
        if (result === 'ok') {
          // Acquired while shutting down: hand it straight back.
          this.deadlineAt = sentAt + this.renewDeadlineMs;
          await withTimeout(this.release(), this.deadlineAt - this.clock.now());
          break;
        }
        await this.sleep(this.followerWaitMs());
      } else {
        await this.sleep(this.retryPeriodMs);
        if (this.stopped || !this.leading) continue;
        const sentAt = this.clock.now();
        const result = await this.attempt(api, this.deadlineAt - sentAt);
        if (this.stopped || !this.leading) continue;
        if (result === 'ok') this.armDeadline(sentAt + this.renewDeadlineMs);
        else if (result === 'lost') this.stopLeading('another replica holds the lease');
      }
    }
  }

  /** One round of client-go's tryAcquireOrRenew, bounded by `timeoutMs`. */
  private async attempt(api: CoordinationV1Api, timeoutMs: number): Promise<Attempt> {
    let error: string | undefined;
    const result = await withTimeout(
      this.tryAcquireOrRenew(api).catch((err: unknown) => {
        const c = classifyApiError(err);
        // 409: another replica wrote first; an answer like any other, not a failure.
        if (c.code === 409) return 'held' as const;
        error = `${c.code ?? c.reason ?? 'error'}: ${c.message}`;
        this.logger.warn({ lease: this.options.name, code: c.code, reason: c.reason, message: c.message }, 'lease request failed');
        return 'error' as const;
      }),
      timeoutMs,
    );
    if (result === 'timeout') error = `no answer within ${Math.round(timeoutMs)} ms`;
    this.options.onAttempt?.(error === undefined, error);
    return result === 'timeout' ? 'error' : result;
  }

  private async tryAcquireOrRenew(api: CoordinationV1Api): Promise<Attempt> {
    const { namespace, name } = this.options;
    const k8s = this.k8s!;
    const now = this.clock.now();
    const micro = new k8s.V1MicroTime(now);
    let lease: V1Lease;
    try {
      lease = await api.readNamespacedLease({ namespace, name });
    } catch (err) {
      if (classifyApiError(err).code !== 404) throw err;
      const created = await api.createNamespacedLease({
        namespace,
        body: {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name, namespace },
          spec: { holderIdentity: this.identity, leaseDurationSeconds: this.leaseDurationMs / 1000, acquireTime: micro, renewTime: micro, leaseTransitions: 0 },
        },
      });
      this.observe(recordOf(created));
      return 'ok';
    }
    const record = recordOf(lease);
    this.observe(record);
    const mine = record.holderIdentity === this.identity;
    if (this.leading && !mine) return 'lost';
    if (record.holderIdentity && !mine && this.observedAt + record.leaseDurationSeconds * 1000 > now) return 'held';
    const updated = await api.replaceNamespacedLease({
      namespace,
      name,
      body: {
        ...lease,
        spec: {
          ...lease.spec,
          holderIdentity: this.identity,
          leaseDurationSeconds: this.leaseDurationMs / 1000,
          acquireTime: mine && record.acquireTime ? new k8s.V1MicroTime(record.acquireTime) : micro,
          renewTime: micro,
          leaseTransitions: mine ? record.leaseTransitions : record.leaseTransitions + 1,
        },
      },
    });
    this.observe(recordOf(updated));
    return 'ok';
  }

  /** client-go's release: an empty holder and a one-second duration, conditional on what was read. */
  private async release(): Promise<void> {
    const { namespace, name } = this.options;
    try {
      const api = await this.client();
      const lease = await api.readNamespacedLease({ namespace, name });
      if (recordOf(lease).holderIdentity !== this.identity) return;
      const now = new this.k8s!.V1MicroTime(this.clock.now());
      const released = await api.replaceNamespacedLease({
        namespace,
        name,
        body: { ...lease, spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: RELEASED_LEASE_DURATION_SECONDS, acquireTime: now, renewTime: now } },
      });
      this.observe(recordOf(released));
      this.logger.info({ lease: name, identity: this.identity }, 'released the lease');
    } catch (err) {
      const c = classifyApiError(err);
      this.logger.warn({ lease: name, code: c.code, message: c.message }, 'could not release the lease; followers take over when it expires');
    }
  }

  private observe(record: LeaderRecord | undefined): void {
    if (record && this.observed && record.resourceVersion === this.observed.resourceVersion) return;
    if (record && this.observed && record.resourceVersion && this.observed.resourceVersion && Number(record.resourceVersion) < Number(this.observed.resourceVersion)) {
      return;
    }
    const before = this.observed?.holderIdentity || undefined;
    this.observed = record;
    this.observedAt = this.clock.now();
    const after = record?.holderIdentity || undefined;
    if (before !== after) {
      this.logger.info({ lease: this.options.name, leader: after ?? null }, 'new leader observed');
      this.options.onNewLeader?.(after);
    }
  }

  /** The follower's next poll: the jittered retry period, or sooner when the observed lease expires first. */
  private followerWaitMs(): number {
    const jittered = this.retryPeriodMs * (1 + this.random() * JITTER_FACTOR);
    const record = this.observed;
    if (!record?.holderIdentity) return this.retryPeriodMs;
    const expiresIn = this.observedAt + record.leaseDurationSeconds * 1000 - this.clock.now() + EXPIRY_MARGIN_MS;
    return Math.max(0, Math.min(jittered, expiresIn));
  }

  private becomeLeader(sentAt: number): void {
    this.leading = true;
    this.armDeadline(sentAt + this.renewDeadlineMs);
    this.workAbort = new AbortController();
    this.logger.info({ lease: this.options.name, identity: this.identity }, 'became the leader');
    try {
      const started = this.options.onStartedLeading(this.workAbort.signal);
      this.work = Promise.resolve(started).catch((err: unknown) => {
        this.logger.error({ err, lease: this.options.name }, 'singleton work failed');
      });
    } catch (err) {
      this.logger.error({ err, lease: this.options.name }, 'singleton work failed to start');
      this.work = Promise.resolve();
    }
  }

  private armDeadline(at: number): void {
    this.deadlineAt = at;
    clearTimeout(this.deadlineTimer);
    this.deadlineTimer = setTimeout(() => this.stopLeading('no renewal succeeded within the renew deadline'), Math.max(0, at - this.clock.now()));
  }

  private stopLeading(reason: string): void {
    if (!this.leading) return;
    this.leading = false;
    clearTimeout(this.deadlineTimer);
    this.workAbort?.abort(new Error(reason));
    this.logger.warn({ lease: this.options.name, identity: this.identity, reason }, 'stopped leading');
    this.options.onStoppedLeading?.(reason);
    this.wake?.();
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, Math.max(0, ms));
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = () => {
        this.wake = undefined;
        done();
      };
    });
  }

  private watchLease(): void {
    const { namespace, name, kubeConfig } = this.options;
    const watch = watchResource<{ metadata?: { resourceVersion?: string }; spec?: Record<string, unknown> }>({
      kubeConfig,
      path: `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/leases`,
      fieldSelector: `metadata.name=${name}`,
      signal: this.watchAbort.signal,
      onEvent: (event) => {
        if (event.type === 'DELETED') this.observe(undefined);
        else this.observe(recordOf(event.object));
        // A renewal only moves the expiry the next poll computes; a release or deletion is worth acting on now.
        if (!this.leading && !this.observed?.holderIdentity) this.wake?.();
      },
    });
    // The watch only speeds followers up; polling carries on without it.
    watch.done.catch((err: unknown) => this.logger.warn({ err, lease: name }, 'lease watch ended'));
  }
}
