/**
 * Group-coordination answers after which a member only has to join the group again: the group
 * moved to a new generation, forgot the member, or its coordinator moved. Kafka's Java consumer
 * rejoins on each of them. kafkajs rejoins on some only where it expects them (a fetch that finds
 * the group rebalancing) and marks REBALANCE_IN_PROGRESS, ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID
 * and MEMBER_ID_REQUIRED not retriable, so when one reaches it anywhere else (a SyncGroup during
 * a rebalance) it stops the consumer for good.
 */
const REJOIN_ERROR_TYPES: ReadonlySet<string> = new Set([
  'REBALANCE_IN_PROGRESS',
  'ILLEGAL_GENERATION',
  'UNKNOWN_MEMBER_ID',
  'MEMBER_ID_REQUIRED',
  'NOT_COORDINATOR_FOR_GROUP',
  'GROUP_COORDINATOR_NOT_AVAILABLE',
  'GROUP_LOAD_IN_PROGRESS',
]);

/**
 * Answers to a JoinGroup or SyncGroup that a rejoin also cures, but only there: librdkafka's mock
 * broker answers a SyncGroup that arrives after the group's leader already completed the
 * generation with INVALID_REQUEST (its state machine allows SyncGroup only while "Syncing"),
 * where a Kafka broker answers with the member's assignment. Joining again gets a generation the
 * member takes part in. Anywhere else INVALID_REQUEST means a client bug, and stays fatal.
 */
const REJOIN_WHILE_JOINING_ERROR_TYPES: ReadonlySet<string> = new Set(['INVALID_REQUEST']);

/** Rejoins in a row, without a successful group join between them, before the consumer is given up. */
export const MAX_REJOINS_WITHOUT_JOIN = 6;
/**
 * Rejoins within `REJOIN_WINDOW_MS`, joined or not, before the consumer is given up: a group that
 * rebalances now and then is normal, one that throws the consumer out every few seconds is not,
 * and the process should exit and say so rather than flap.
 */
export const MAX_REJOINS_PER_WINDOW = 20;
export const REJOIN_WINDOW_MS = 10 * 60_000;
/** First wait before a rejoin; doubled for each further one in a row, up to `MAX_REJOIN_DELAY_MS`. */
export const REJOIN_DELAY_MS = 300;
/** kafkajs' own maxRetryTime would be 30 s; a consumer out of its group is not archiving, so wait less. */
export const MAX_REJOIN_DELAY_MS = 10_000;

/**
 * Why the consumer may join its group again after kafkajs gave it up on `error`: the Kafka
 * protocol error's type (e.g. `REBALANCE_IN_PROGRESS`), or undefined when the error is fatal
 * (authorization, an unsupported protocol, a misconfiguration) and the process should say so.
 * `joining` is whether the consumer was joining or syncing when it failed.
 */
export function rejoinReason(error: unknown, { joining }: { joining: boolean }): string | undefined {
  for (let current: unknown = error; current instanceof Error; current = current.cause) {
    const type = (current as { type?: unknown }).type;
    if (typeof type !== 'string') continue;
    if (REJOIN_ERROR_TYPES.has(type)) return type;
    if (joining && REJOIN_WHILE_JOINING_ERROR_TYPES.has(type)) return type;
  }
  return undefined;
}

/** The wait before the `attempt`-th rejoin in a row (1-based), with ±20 % jitter so that replicas do not rejoin in lockstep. */
export function rejoinDelayMs(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(MAX_REJOIN_DELAY_MS, REJOIN_DELAY_MS * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (0.8 + 0.4 * random()));
}
