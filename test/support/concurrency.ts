import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileObjectStore } from '../../shared/store/fs-store.js';
import type { ObjectStore } from '../../shared/store/object-store.js';
import type { S3ClientConfig } from '@aws-sdk/client-s3';
import { S3ObjectStore } from '../../shared/store/s3-store.js';
import { seededRandom, type Random } from './apiserver/rng.js';
import { afterAll, beforeAll } from 'vitest';
import { startS3rver, type S3rverHarness } from './s3rver.js';

/**
 * The seeds every concurrency suite runs with. `SPARKFN_CONCURRENCY_SEEDS=7,8` replays chosen
 * ones (a failing seed is printed in the assertion message).
 */
export function concurrencySeeds(defaults: readonly number[] = [1, 2, 3]): number[] {
  const fromEnv = process.env.SPARKFN_CONCURRENCY_SEEDS;
  if (!fromEnv) return [...defaults];
  return fromEnv.split(',').map((s) => Number.parseInt(s.trim(), 10)).filter((n) => Number.isFinite(n));
}

/** A fresh, empty store of one kind for one delivery run. */
export type StoreFactory = () => Promise<{ store: ObjectStore; cleanup(): Promise<void> }>;

/** A fresh directory under the OS temp folder as a filesystem store. */
export function fileStoreFactory(): StoreFactory {
  return async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sparkfn-concurrency-'));
    return { store: new FileObjectStore(dir), cleanup: () => rm(dir, { recursive: true, force: true }) };
  };
}

/** Attempts per S3 request in the concurrency suites (see s3StoreFactory). */
const BURST_MAX_ATTEMPTS = 6;
/** Wait before the n-th retry: 100 ms, doubling. */
const BURST_RETRY_BASE_MS = 100;

/**
 * The SDK's standard retries without its per-client retry quota: a suite's all-at-once round
 * spends that quota on s3rver's resets, after which even a settle step's first list fails.
 */
const burstRetryStrategy: NonNullable<S3ClientConfig['retryStrategy']> = {
  mode: 'standard',
  acquireInitialRetryToken: async () => retryToken(0),
  refreshRetryTokenForRetry: async (token, error) => {
    const next = token.getRetryCount() + 1;
    if (error.errorType === 'CLIENT_ERROR' || next >= BURST_MAX_ATTEMPTS) throw new Error(`no more retries after ${next} attempts (${error.errorType})`);
    return retryToken(next);
  },
  recordSuccess: () => {},
};

function retryToken(count: number) {
  return { getRetryCount: () => count, getRetryDelay: () => BURST_RETRY_BASE_MS * 2 ** Math.max(0, count - 1) };
}

/** A fresh bucket on a running s3rver as an S3 store. */
export function s3StoreFactory(s3: () => S3rverHarness): StoreFactory {
  return async () => {
    const harness = s3();
    const bucket = await harness.createBucket();
    // s3rver is one Node process: under an all-at-once burst on a loaded 2-core machine it resets
    // a connection now and then (ECONNRESET, seen in CI once in several runs), three times in a row
    // on rare requests. The suites test our ordering and idempotence, not s3rver's backlog, so they
    // give each request the SDK's backoff a few more times than the store's default of 3.
    const store = new S3ObjectStore({ bucket, endpoint: harness.endpoint, forcePathStyle: true, credentials: harness.credentials, maxAttempts: BURST_MAX_ATTEMPTS, retryStrategy: burstRetryStrategy });
    return { store, cleanup: async () => {} };
  };
}

/**
 * The stores a concurrency suite runs on, for `describe.each`: the filesystem store and s3rver
 * (started once for the calling file, stopped after it).
 * @example describe.each(storesUnderTest())('job-cost under concurrency on %s', (_, makeFactory) => { … });
 */
export function storesUnderTest(): [string, () => StoreFactory][] {
  let s3: S3rverHarness | undefined;
  beforeAll(async () => {
    s3 = await startS3rver();
  });
  afterAll(async () => {
    await s3?.stop();
  });
  return [
    ['the filesystem store', () => fileStoreFactory()],
    ['s3rver', () => s3StoreFactory(() => s3!)],
  ];
}

/** Fisher–Yates with a seeded generator: the same seed gives the same order. */
export function shuffled<T>(items: readonly T[], random: Random): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/** How one suite delivers its events and reads back the state they left. */
export interface DeliveryPlan<Event, World, Snapshot> {
  /** At least 50 events that touch the same state. */
  events: readonly Event[];
  /** A fresh world (store, clock, cluster…) for one run; `random` is seeded for the run. */
  setUp(random: Random): Promise<World>;
  deliver(world: World, event: Event): Promise<void>;
  /** Runs after every delivery has returned (a drain, a compaction…), before the snapshot. */
  settle?(world: World): Promise<void>;
  /** Everything the events are supposed to decide: state, records, counts, metrics. */
  snapshot(world: World): Promise<Snapshot>;
  tearDown(world: World): Promise<void>;
}

/**
 * (a) one by one: every event in order, each delivered twice in a row;
 * (b) all at once: every event twice, in a seeded random order, started together, each
 * after a seeded random number of event-loop turns so that their store calls interleave.
 */
export type DeliveryMode = 'one-by-one' | 'all-at-once';

export async function deliverAll<Event, World, Snapshot>(
  plan: DeliveryPlan<Event, World, Snapshot>,
  mode: DeliveryMode,
  seed: number,
): Promise<Snapshot> {
  const random = seededRandom(seed);
  const world = await plan.setUp(seededRandom(seed + 7919));
  try {
    if (mode === 'one-by-one') {
      for (const event of plan.events) {
        await plan.deliver(world, event);
        await plan.deliver(world, event);
      }
    } else {
      const order = shuffled([...plan.events, ...plan.events], random);
      await Promise.all(
        order.map(async (event) => {
          const turns = Math.floor(random() * 4);
          for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
          await plan.deliver(world, event);
        }),
      );
    }
    if (plan.settle) await plan.settle(world);
    return await plan.snapshot(world);
  } finally {
    await plan.tearDown(world);
  }
}

/**
 * Runs the plan both ways for `seed` and returns both snapshots; a test asserts they are equal
 * (and that they are right), naming the seed so a failure can be replayed.
 * @example
 * const { oneByOne, allAtOnce } = await deliverBothWays(plan, seed);
 * expect(allAtOnce, `seed ${seed}`).toEqual(oneByOne);
 */
export async function deliverBothWays<Event, World, Snapshot>(
  plan: DeliveryPlan<Event, World, Snapshot>,
  seed: number,
): Promise<{ oneByOne: Snapshot; allAtOnce: Snapshot }> {
  const oneByOne = await deliverAll(plan, 'one-by-one', seed);
  const allAtOnce = await deliverAll(plan, 'all-at-once', seed);
  return { oneByOne, allAtOnce };
}
