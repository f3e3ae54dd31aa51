import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '../../shared/clock.js';
import { ConfigError } from '../../shared/errors.js';
import { LeaderElector, type LeaderElectionOptions } from '../../shared/k8s/leader-election.js';
import { startTestApiserver, type TestApiserver } from '../support/apiserver/index.js';

/** Short timings with client-go's proportions (15 / 10 / 2): lease 2 s, renew deadline 1.3 s, retry 0.25 s. */
const LEASE_MS = 2_000;
const RENEW_MS = 1_300;
const RETRY_MS = 250;

interface Replica {
  name: string;
  elector: LeaderElector;
  /** Times (ms, system clock) this replica started and stopped leading. */
  started: number[];
  stopped: number[];
  signals: AbortSignal[];
}

/** A promise that resolves on the next call of `notify`. */
function nextEvent(): { wait: Promise<number>; notify: () => void } {
  let notify!: () => void;
  const wait = new Promise<number>((resolve) => {
    notify = () => resolve(Date.now());
  });
  return { wait, notify };
}

describe('leader election on a coordination.k8s.io/v1 Lease', () => {
  let server: TestApiserver;
  let counter = 0;
  let replicas: Replica[] = [];
  let onStart = nextEvent();

  beforeAll(async () => {
    server = await startTestApiserver();
  });
  afterAll(async () => server.stop());
  afterEach(async () => {
    server.faults.restoreConnections();
    await Promise.all(replicas.map((r) => r.elector.stop({ release: false })));
    replicas = [];
  });

  function replica(namespace: string, name: string, extra: Partial<LeaderElectionOptions> = {}): Replica {
    const token = `token-${name}-${++counter}`;
    server.addUser(token, name);
    const r: Replica = { name, started: [], stopped: [], signals: [], elector: undefined as unknown as LeaderElector };
    r.elector = new LeaderElector({
      kubeConfig: server.kubeConfig({ token }),
      namespace,
      name: 'sparkfn-singletons',
      identity: name,
      leaseDurationMs: LEASE_MS,
      renewDeadlineMs: RENEW_MS,
      retryPeriodMs: RETRY_MS,
      onStartedLeading: (signal) => {
        r.started.push(Date.now());
        r.signals.push(signal);
        onStart.notify();
      },
      onStoppedLeading: () => r.stopped.push(Date.now()),
      ...extra,
    });
    replicas.push(r);
    return r;
  }

  async function awaitLeader(): Promise<Replica> {
    await onStart.wait;
    onStart = nextEvent();
    const leaders = replicas.filter((r) => r.elector.isLeader);
    expect(leaders, 'exactly one leader').toHaveLength(1);
    return leaders[0]!;
  }

  function holder(namespace: string): { holderIdentity: string; leaseTransitions: number; renewTime: string; leaseDurationSeconds: number } {
    return server.get('leases', namespace, 'sparkfn-singletons')!.spec as never;
  }

  it('elects exactly one of three contenders and names it in the Lease', async () => {
    const namespace = `le-${++counter}`;
    onStart = nextEvent();
    const all = ['a', 'b', 'c'].map((n) => replica(namespace, n));
    all.forEach((r) => r.elector.start());
    const leader = await awaitLeader();
    expect(holder(namespace).holderIdentity).toBe(leader.name);
    expect(holder(namespace).leaseDurationSeconds).toBe(LEASE_MS / 1000);
    // Several renew periods later, still one leader and the same one.
    const rvBefore = server.get('leases', namespace, 'sparkfn-singletons')!.metadata.resourceVersion;
    const renewed = await new Promise<string>((resolve) => {
      const check = setInterval(() => {
        const rv = server.get('leases', namespace, 'sparkfn-singletons')!.metadata.resourceVersion!;
        if (Number(rv) >= Number(rvBefore) + 3) {
          clearInterval(check);
          resolve(rv);
        }
      }, 50);
    });
    expect(Number(renewed)).toBeGreaterThan(Number(rvBefore));
    expect(all.filter((r) => r.elector.isLeader).map((r) => r.name)).toEqual([leader.name]);
    expect(all.flatMap((r) => r.started)).toHaveLength(1);
    for (const r of all) expect(r.elector.snapshot().leader).toBe(leader.name);
  });

  it('releases on stop so that a follower takes over at once (well inside one retry period)', async () => {
    const namespace = `le-${++counter}`;
    onStart = nextEvent();
    const all = ['a', 'b', 'c'].map((n) => replica(namespace, n));
    all.forEach((r) => r.elector.start());
    const first = await awaitLeader();
    const transitions = holder(namespace).leaseTransitions;
    const stoppedAt = Date.now();
    await first.elector.stop();
    expect(first.signals[0]!.aborted).toBe(true);
    const second = await awaitLeader();
    const handover = second.started[0]! - stoppedAt;
    expect(second).not.toBe(first);
    expect(handover, `handover took ${handover} ms`).toBeLessThan(RETRY_MS);
    expect(holder(namespace).holderIdentity).toBe(second.name);
    // client-go counts the release and the new acquisition as one transition to a new holder.
    expect(holder(namespace).leaseTransitions).toBe(transitions + 1);
  });

  it('takes over from a leader that vanished without releasing, no sooner than the lease duration, even with a skewed clock', async () => {
    const namespace = `le-${++counter}`;
    onStart = nextEvent();
    const a = replica(namespace, 'a');
    a.elector.start();
    await awaitLeader();
    // b's clock is an hour ahead: only its own elapsed time counts, so the skew changes nothing.
    const skewed: Clock = { now: () => Date.now() + 3_600_000 };
    const b = replica(namespace, 'b', { clock: skewed });
    b.elector.start();
    await new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (b.elector.snapshot().leader === 'a') {
          clearInterval(check);
          resolve();
        }
      }, 20);
    });
    await a.elector.stop({ release: false });
    const killedAt = Date.now();
    const lastRenew = Date.parse(holder(namespace).renewTime);
    const next = await awaitLeader();
    expect(next).toBe(b);
    const takeover = b.started[0]! - killedAt;
    expect(b.started[0]!, 'not before the lease expired').toBeGreaterThanOrEqual(lastRenew + LEASE_MS);
    expect(takeover, `takeover took ${takeover} ms`).toBeLessThanOrEqual(LEASE_MS + RETRY_MS);
  });

  it.each(['hang', 'reset'] as const)(
    'split brain (%s): a leader cut off from the apiserver stops before its lease expires, and the next starts only after',
    async (mode) => {
      const namespace = `le-${++counter}`;
      onStart = nextEvent();
      const a = replica(namespace, 'a');
      a.elector.start();
      await awaitLeader();
      const b = replica(namespace, 'b');
      b.elector.start();
      await new Promise<void>((resolve) => {
        const check = setInterval(() => {
          if (b.elector.snapshot().leader === 'a') {
            clearInterval(check);
            resolve();
          }
        }, 20);
      });
      server.faults.cutConnections('a', mode);
      const lastRenew = Date.parse(holder(namespace).renewTime);
      const next = await awaitLeader();
      expect(next).toBe(b);
      expect(a.elector.isLeader).toBe(false);
      expect(a.signals[0]!.aborted).toBe(true);
      const aStopped = a.stopped[0]!;
      const bStarted = b.started[0]!;
      expect(aStopped, 'the old leader stopped before the new one started').toBeLessThan(bStarted);
      expect(aStopped, 'the old leader stopped within its renew deadline').toBeLessThanOrEqual(lastRenew + RETRY_MS + RENEW_MS + 100);
      expect(aStopped, 'and before its lease could expire').toBeLessThan(lastRenew + LEASE_MS);
      expect(bStarted).toBeGreaterThanOrEqual(lastRenew + LEASE_MS);
      // Reconnected, the old leader follows: it does not take the lease back.
      server.faults.restoreConnections('a');
      await new Promise<void>((resolve) => {
        const check = setInterval(() => {
          if (a.elector.snapshot().leader === 'b') {
            clearInterval(check);
            resolve();
          }
        }, 20);
      });
      expect(a.elector.isLeader).toBe(false);
      expect(b.elector.isLeader).toBe(true);
    },
  );

  it('stops leading at once when the Lease names someone else', async () => {
    const namespace = `le-${++counter}`;
    onStart = nextEvent();
    const a = replica(namespace, 'a');
    a.elector.start();
    await awaitLeader();
    const lease = server.get('leases', namespace, 'sparkfn-singletons')!;
    server.put({ ...lease, spec: { ...(lease.spec as object), holderIdentity: 'intruder' } });
    await new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (!a.elector.isLeader) {
          clearInterval(check);
          resolve();
        }
      }, 20);
    });
    expect(a.signals[0]!.aborted).toBe(true);
    expect(a.stopped[0]! - a.started[0]!).toBeLessThan(LEASE_MS);
  });

  it('refuses timings that break the no-two-leaders argument', () => {
    const base = { kubeConfig: server.kubeConfig(), namespace: 'x', name: 'y', onStartedLeading: () => undefined };
    expect(() => new LeaderElector({ ...base, leaseDurationMs: 10_000, renewDeadlineMs: 10_000 })).toThrow(ConfigError);
    expect(() => new LeaderElector({ ...base, renewDeadlineMs: 2_000, retryPeriodMs: 2_000 })).toThrow(ConfigError);
    expect(() => new LeaderElector({ ...base, leaseDurationMs: 15_500 })).toThrow(ConfigError);
  });
});
