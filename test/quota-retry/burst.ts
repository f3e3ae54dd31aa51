import { run } from '../../functions/quota-retry/handler.js';
import { DEPARTMENT_LABEL } from '../../functions/quota-retry/manifest.js';
import type { QuotaRetrySummary } from '../../functions/quota-retry/summary.js';
import { callKey } from '../support/apiserver/index.js';
import { seededRandom } from '../support/apiserver/rng.js';
import { CountingStore } from './counting-store.js';
import { bodyOf, driverPod, FUNCTION_USER, keysUnder, putQuota, startWorld, statusOf, testSettings, webhookRequest, type QuotaRetryWorld } from './support.js';

/** One team submitting drivers: its share of the submissions and its cap of running drivers. */
export interface Department {
  name: string;
  share: number;
  cap: number;
}

export interface BurstOptions {
  seed?: number;
  submissions?: number;
  /** Drivers the namespace's quota fits at a time (`pods`; cpu and memory are sized to bind now and then too). */
  quotaDrivers?: number;
  departments?: Department[];
  /** Share of quota-tracked creates answered with the injected 409 on the ResourceQuota. */
  conflictProbability?: number;
  /** Submissions per wave; after each wave some drivers finish and a drain runs. */
  wave?: number;
  /** Running drivers marked Succeeded before each drain. */
  finishPerRound?: number;
  /** Fixed latency of every apiserver call. */
  latencyMs?: number;
}

export const DEFAULT_DEPARTMENTS: Department[] = [
  { name: 'analytics', share: 0.5, cap: 20 },
  { name: 'etl', share: 0.3, cap: 14 },
  { name: 'ml', share: 0.2, cap: 10 },
];

/** Driver sizes as a busy Spark namespace sees them: mostly 1-2 cores, a few 4 and 8. */
const SIZES = [
  { weight: 0.4, cpu: '1', memory: '4505Mi' },
  { weight: 0.35, cpu: '2', memory: '8601Mi' },
  { weight: 0.2, cpu: '4', memory: '17Gi' },
  { weight: 0.05, cpu: '8', memory: '34Gi' },
];

interface Planned {
  submissionId: string;
  pod: string;
  department: string;
  priority: number;
  cpu: string;
  memory: string;
}

export interface BurstReport {
  submissions: number;
  /** Created by the submitter's own first create. */
  direct: number;
  /** Handed to quota-retry through the webhook. */
  viaQuotaRetry: number;
  /** Of those, how many have their driver at the end. */
  admittedByQuotaRetry: number;
  deadLettered: number;
  /** Driver pods per submission at the end (by the submission annotation or the submitter's name). */
  missing: string[];
  duplicates: string[];
  /** Successful pod creates in the whole run (submitter + quota-retry): exactly one per submission when nothing was duplicated. */
  podCreates201: number;
  queueLeft: string[];
  capViolations: string[];
  fifoViolations: string[];
  /** quota-retry's own API calls, by `verb resource`. */
  calls: Record<string, number>;
  functionCalls: number;
  /** One create per object each quota-retry submission owns. */
  minimumCalls: number;
  ratio: number;
  /** 403s quota-retry got in drains: its view of the quota disagreed with the apiserver's. */
  forbiddenToQuotaRetry: number;
  drains: number;
  retries: Partial<QuotaRetrySummary['retries']>;
  wallMs: number;
  /** Object store requests quota-retry made, by method, and in all. */
  storeRequests: Record<string, number>;
  storeTotal: number;
  /** Time spent inside quota-retry's invocations (webhooks and drains). */
  functionMs: number;
}

function pick<T extends { weight?: number; share?: number }>(items: readonly T[], r: number): T {
  let acc = 0;
  for (const item of items) {
    acc += item.weight ?? item.share ?? 0;
    if (r < acc) return item;
  }
  return items[items.length - 1]!;
}

function plan(count: number, departments: readonly Department[], random: () => number): Planned[] {
  return Array.from({ length: count }, (_, i) => {
    const size = pick(SIZES, random());
    const id = `burst-${String(i).padStart(4, '0')}`;
    return { submissionId: id, pod: `${id}-driver`, department: pick(departments, random()).name, priority: random() < 0.1 ? 10 : 0, cpu: size.cpu, memory: size.memory };
  });
}

/**
 * The burst: `submissions` driver submissions from three departments into a namespace
 * whose quota fits `quotaDrivers` drivers, with injected quota conflicts, while running drivers
 * finish. The submitter creates each driver itself first and posts its failures to the webhook;
 * drains are driven explicitly after each wave (as the timer or a ResourceQuota change would),
 * never by wall-clock timers. Checks exactly-once, caps and FIFO as it goes.
 */
export async function runBurst(options: BurstOptions = {}): Promise<BurstReport> {
  const seed = options.seed ?? 7;
  const departments = options.departments ?? DEFAULT_DEPARTMENTS;
  const namespace = 'spark-burst';
  const world: QuotaRetryWorld = await startWorld({ seed });
  const started = performance.now();
  try {
    const { server, clock, submitter } = world;
    const store = new CountingStore(world.deps.store);
    const deps = { ...world.deps, store };
    const quotaDrivers = options.quotaDrivers ?? 40;
    putQuota(server, namespace, {
      pods: String(quotaDrivers),
      'requests.cpu': String(Math.round(quotaDrivers * 2.5)),
      'requests.memory': `${quotaDrivers * 10}Gi`,
      'limits.cpu': String(Math.round(quotaDrivers * 2.5)),
      'limits.memory': `${quotaDrivers * 10}Gi`,
    });
    server.faults.quotaConflicts({ probability: options.conflictProbability ?? 0.3 });
    if (options.latencyMs) server.faults.setLatency(options.latencyMs);
    const settings = testSettings({ departmentCaps: new Map(departments.map((d) => [d.name, d.cap])) });
    const planned = plan(options.submissions ?? 300, departments, seededRandom(seed));
    const byPod = new Map(planned.map((p) => [p.pod, p]));
    const queuedOrder = new Map<string, number>();
    const admissionOrder: string[] = [];
    const capViolations: string[] = [];
    const retries: Record<string, number> = {};
    let direct = 0;
    let deadLettered = 0;
    let drains = 0;
    let functionMs = 0;

    const running = () => {
      const counts = new Map<string, number>();
      for (const pod of server.list('pods', namespace)) {
        const phase = (pod.status as { phase?: string } | undefined)?.phase;
        if (phase === 'Succeeded' || phase === 'Failed') continue;
        const d = pod.metadata.labels?.[DEPARTMENT_LABEL];
        if (d) counts.set(d, (counts.get(d) ?? 0) + 1);
      }
      return counts;
    };
    /** Runs one quota-retry invocation and checks that what it admitted kept every department within its cap. */
    const invoke = async (what: string, call: () => Promise<unknown>) => {
      const before = new Set(server.list('pods', namespace).map((p) => p.metadata.name));
      const t0 = performance.now();
      const result = await call();
      functionMs += performance.now() - t0;
      // Creates carry no name in their URL: what is new after the call (nothing else runs meanwhile) is what it created.
      const admitted = server
        .list('pods', namespace)
        .filter((p) => !before.has(p.metadata.name))
        .sort((a, b) => Number(a.metadata.resourceVersion) - Number(b.metadata.resourceVersion))
        .map((p) => p.metadata.name);
      const now = running();
      for (const name of admitted) {
        admissionOrder.push(name);
        const d = byPod.get(name)!.department;
        const cap = departments.find((x) => x.name === d)!.cap;
        if ((now.get(d) ?? 0) > cap) capViolations.push(`${what}: admitted ${name} into ${d} with ${now.get(d)} running (cap ${cap})`);
      }
      const summary = ('trigger' in (result as object) ? result : bodyOf(result).summary) as QuotaRetrySummary | undefined;
      for (const [k, v] of Object.entries(summary?.retries ?? {})) retries[k] = (retries[k] ?? 0) + (v ?? 0);
      deadLettered += summary?.deadLettered ?? 0;
      return result;
    };
    const finish = (count: number) => {
      const live = server
        .list('pods', namespace)
        .filter((p) => !['Succeeded', 'Failed'].includes((p.status as { phase?: string } | undefined)?.phase ?? ''))
        .sort((a, b) => Number(a.metadata.resourceVersion) - Number(b.metadata.resourceVersion));
      for (const pod of live.slice(0, count)) server.setPodPhase(namespace, pod.metadata.name, 'Succeeded');
    };
    const drain = async () => {
      drains += 1;
      clock.advance(30_000);
      await invoke(`drain ${drains}`, () => run({ kind: 'schedule', source: 'local', time: clock.now() }, deps, settings));
    };

    const wave = options.wave ?? 30;
    const finishPerRound = options.finishPerRound ?? 12;
    for (let start = 0; start < planned.length; start += wave) {
      for (const p of planned.slice(start, start + wave)) {
        clock.advance(1000);
        const manifest = driverPod(p.pod, { cpu: p.cpu, memory: p.memory, department: p.department });
        try {
          await submitter.core.createNamespacedPod({ namespace, body: manifest as never });
          direct += 1;
          continue;
        } catch (err) {
          const body = { submissionId: p.submissionId, namespace, manifest, error: statusOf(err), attempt: 1, priority: p.priority, department: p.department };
          queuedOrder.set(p.pod, queuedOrder.size);
          await invoke(`webhook ${p.submissionId}`, () => run(webhookRequest(body), deps, settings));
        }
      }
      finish(finishPerRound);
      await drain();
    }
    // Bounded: every round frees finishPerRound drivers, so the queue empties long before this.
    for (let round = 0; round < 200 && (await keysUnder(world.store, 'queue/pending/')).length > 0; round++) {
      finish(finishPerRound);
      await drain();
    }

    const pods = server.list('pods', namespace);
    const perSubmission = new Map<string, number>();
    for (const pod of pods) {
      const id = pod.metadata.annotations?.['sparkfn.io/submission-id'] ?? byPod.get(pod.metadata.name)?.submissionId ?? `unknown:${pod.metadata.name}`;
      perSubmission.set(id, (perSubmission.get(id) ?? 0) + 1);
    }
    const fifoViolations: string[] = [];
    const lastSeen = new Map<string, { pod: string; order: number }>();
    for (const pod of admissionOrder) {
      const p = byPod.get(pod)!;
      const order = queuedOrder.get(pod);
      if (order === undefined) continue;
      const group = `${p.priority}/${p.department}`;
      const before = lastSeen.get(group);
      if (before && before.order > order) fifoViolations.push(`${pod} (queued #${order}) admitted after ${before.pod} (queued #${before.order}) in ${group}`);
      lastSeen.set(group, { pod, order });
    }
    const ours = server.calls.filter((c) => c.user === FUNCTION_USER);
    const calls: Record<string, number> = {};
    for (const c of ours) calls[callKey(c)] = (calls[callKey(c)] ?? 0) + 1;
    const admittedByQuotaRetry = [...queuedOrder.keys()].filter((pod) => pods.some((p) => p.metadata.name === pod)).length;
    return {
      submissions: planned.length,
      direct,
      viaQuotaRetry: queuedOrder.size,
      admittedByQuotaRetry,
      deadLettered,
      missing: planned.filter((p) => !perSubmission.has(p.submissionId)).map((p) => p.submissionId),
      duplicates: [...perSubmission].filter(([, n]) => n > 1).map(([id]) => id),
      podCreates201: server.calls.filter((c) => c.verb === 'create' && c.resource === 'pods' && c.code === 201).length,
      queueLeft: await keysUnder(world.store, 'queue/pending/'),
      capViolations,
      fifoViolations,
      calls,
      functionCalls: ours.length,
      minimumCalls: admittedByQuotaRetry,
      ratio: ours.length / Math.max(1, admittedByQuotaRetry),
      forbiddenToQuotaRetry: ours.filter((c) => c.code === 403).length,
      drains,
      retries,
      wallMs: performance.now() - started,
      storeRequests: store.counts,
      storeTotal: store.total(),
      functionMs,
    };
  } finally {
    await world.stop();
  }
}
