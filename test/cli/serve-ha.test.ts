import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startTestApiserver, type TestApiserver } from '../support/apiserver/index.js';
import { startServeChild, type ServeChild } from '../support/serve-child.js';

/** client-go's defaults, which serve uses unless told otherwise: the handovers are measured with them. */
const LEASE_MS = 15_000;
const RETRY_MS = 2_000;
/** The quota drain, the timer counted here, every second: 20 periods in 20 s. */
const DRAIN_EVERY_SECONDS = 1;
const PERIODS = 20;
const NAMESPACE = 'sparkfn';
const LEASE = 'sparkfn-singletons';
/** Bounds on waiting for the children (tsx compiles the sources on start; the machine is shared). */
const WAIT_MS = 90_000;
const POLL_MS = 20;

interface Span {
  replica: string;
  from: number;
  to: number;
}

interface LogLine {
  msg?: string;
  time?: number | string;
  function?: string;
  startedAt?: number;
  endedAt?: number;
}

function logLines(child: ServeChild): LogLine[] {
  return child
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogLine);
}

async function until<T>(probe: () => T | undefined, what: () => string, timeoutMs = WAIT_MS): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what()}`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

describe('sparkfn serve as three replicas on one apiserver and one store', () => {
  let apiserver: TestApiserver | undefined;
  let dir: string | undefined;
  const children = new Map<string, ServeChild>();

  afterAll(async () => {
    await Promise.all([...children.values()].map((c) => c.stop(1_000)));
    await apiserver?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('runs each timer on exactly one replica at a time, and hands over on SIGKILL within the lease and on SIGTERM at once', async () => {
    apiserver = await startTestApiserver();
    dir = await mkdtemp(join(tmpdir(), 'sparkfn-ha-'));
    const names = ['replica-0', 'replica-1', 'replica-2'];
    await Promise.all(
      names.map(async (name) => {
        const token = `token-${name}`;
        apiserver!.addUser(token, name);
        const child = await startServeChild({
          SPARKFN_STORE: `file://${dir}`,
          SPARKFN_K8S_URL: apiserver!.url,
          SPARKFN_K8S_TOKEN: token,
          SPARKFN_LEASE_NAMESPACE: NAMESPACE,
          SPARKFN_LEADER_IDENTITY: name,
          SPARKFN_QUOTA_DRAIN_EVERY_SECONDS: String(DRAIN_EVERY_SECONDS),
          SPARKFN_LOG_LEVEL: 'info',
        });
        children.set(name, child);
      }),
    );
    const holder = () => (apiserver!.get('leases', NAMESPACE, LEASE)?.spec as { holderIdentity?: string } | undefined)?.holderIdentity || undefined;
    const runs = () =>
      [...children].flatMap(([replica, child]) =>
        logLines(child)
          .filter((l) => (l.msg === 'scheduled run' || l.msg === 'scheduled run failed') && l.function === 'quota-retry')
          .map((l) => ({ replica, from: l.startedAt!, to: l.endedAt! })),
      );

    const first = await until(holder, () => 'a leader');
    await until(() => (runs().length >= PERIODS ? true : undefined), () => `${PERIODS} drain runs (have ${runs().length})`);

    // SIGKILL: no release, so the others wait for the lease to expire on their own clocks.
    const killedAt = Date.now();
    process.kill(children.get(first)!.pid, 'SIGKILL');
    const second = await until(() => {
      const h = holder();
      return h && h !== first ? h : undefined;
    }, () => 'a new leader after SIGKILL');
    const sigkillHandoverMs = Date.now() - killedAt;
    const runsBefore = runs().filter((r) => r.replica === second).length;
    await until(() => (runs().filter((r) => r.replica === second).length >= runsBefore + 3 ? true : undefined), () => `runs on ${second}`);

    // SIGTERM: the leader stops its timers, then releases the Lease.
    const termAt = Date.now();
    process.kill(children.get(second)!.pid, 'SIGTERM');
    const third = await until(() => {
      const h = holder();
      return h && h !== first && h !== second ? h : undefined;
    }, () => 'a new leader after SIGTERM');
    const sigtermHandoverMs = Date.now() - termAt;
    await until(() => (runs().filter((r) => r.replica === third).length >= 3 ? true : undefined), () => `runs on ${third}`);
    expect((await children.get(second)!.exited).code, 'SIGTERM ends serve cleanly').toBe(0);
    const metrics = await (await fetch(`${children.get(third)!.url}/metrics`)).text();
    expect(metrics).toMatch(/^sparkfn_leader\{duty="timer:quota-retry"\} 1$/m);
    // It saw the first leader, the second, and itself take the Lease (a release in between counts too).
    expect(Number(/^sparkfn_leader_transitions_total\{lease="sparkfn-singletons"\} (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(3);

    console.log(`handover after SIGKILL: ${sigkillHandoverMs} ms; after SIGTERM: ${sigtermHandoverMs} ms; drain runs: ${runs().length}`);
    expect(sigkillHandoverMs, 'SIGKILL → new leader within lease duration + retry period').toBeLessThanOrEqual(LEASE_MS + RETRY_MS);
    expect(sigtermHandoverMs, 'SIGTERM → new leader within 2 s').toBeLessThanOrEqual(2_000);

    // Each replica's leadership, from its own log; a SIGKILLed one led until it died.
    const leading: Span[] = [];
    for (const [replica, child] of children) {
      let from: number | undefined;
      for (const l of logLines(child)) {
        const at = typeof l.time === 'string' ? Date.parse(l.time) : l.time!;
        if (l.msg === 'became the leader') from = at;
        if (l.msg === 'stopped leading' && from !== undefined) {
          leading.push({ replica, from, to: at });
          from = undefined;
        }
      }
      if (from !== undefined) leading.push({ replica, from, to: replica === first ? killedAt : Date.now() });
    }
    expect(leading.map((s) => s.replica).sort()).toEqual([...names].sort());
    const sorted = [...leading].sort((a, b) => a.from - b.from);
    for (let i = 1; i < sorted.length; i++) {
      expect(sorted[i]!.from, `${sorted[i]!.replica} started leading after ${sorted[i - 1]!.replica} stopped`).toBeGreaterThanOrEqual(sorted[i - 1]!.to);
    }
    // Every run happened inside its replica's leadership, so no two ran at once.
    const all = runs();
    expect(all.length).toBeGreaterThanOrEqual(PERIODS + 6);
    for (const run of all) {
      const inside = leading.some((s) => s.replica === run.replica && run.from >= s.from && run.to <= s.to);
      expect(inside, `${run.replica} ran the drain at ${run.from}–${run.to} while leading`).toBe(true);
    }
    const byStart = [...all].sort((a, b) => a.from - b.from);
    for (let i = 1; i < byStart.length; i++) expect(byStart[i]!.from).toBeGreaterThanOrEqual(byStart[i - 1]!.to);
    // One run per period, not one per replica: the leader's run count follows its time as leader.
    const firstSpan = leading.find((s) => s.replica === first)!;
    const firstRuns = all.filter((r) => r.replica === first).length;
    expect(firstRuns).toBeLessThanOrEqual(Math.ceil((firstSpan.to - firstSpan.from) / (DRAIN_EVERY_SECONDS * 1000)) + 1);
  }, 240_000);
});
