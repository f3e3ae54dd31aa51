import { createRequire } from 'node:module';
import { KafkaJSError, KafkaJSNonRetriableError } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { MAX_REJOIN_DELAY_MS, REJOIN_DELAY_MS, rejoinDelayMs, rejoinReason } from '../../shared/kafka/group-rejoin.js';

// The errors exactly as kafkajs builds them from a broker's error code (what the consumer sees).
const { createErrorFromCode } = createRequire(import.meta.url)('kafkajs/src/protocol/error.js') as { createErrorFromCode: (code: number) => Error };

describe('rejoinReason', () => {
  it.each([
    [27, 'REBALANCE_IN_PROGRESS'],
    [22, 'ILLEGAL_GENERATION'],
    [25, 'UNKNOWN_MEMBER_ID'],
    [79, 'MEMBER_ID_REQUIRED'],
    [16, 'NOT_COORDINATOR_FOR_GROUP'],
    [15, 'GROUP_COORDINATOR_NOT_AVAILABLE'],
    [14, 'GROUP_LOAD_IN_PROGRESS'],
  ])('rejoins on error code %i (%s), joining or not', (code, type) => {
    expect(rejoinReason(createErrorFromCode(code), { joining: false })).toBe(type);
    expect(rejoinReason(createErrorFromCode(code), { joining: true })).toBe(type);
  });

  it('rejoins on INVALID_REQUEST only while joining (librdkafka mock answers a late SyncGroup so)', () => {
    expect(rejoinReason(createErrorFromCode(42), { joining: true })).toBe('INVALID_REQUEST');
    expect(rejoinReason(createErrorFromCode(42), { joining: false })).toBeUndefined();
  });

  it('finds the protocol error among the causes of a kafkajs wrapper', () => {
    const cause = createErrorFromCode(27);
    // kafkajs' own wrappers (KafkaJSNumberOfRetriesExceeded) set `cause`; its typings do not say so.
    const wrapped = Object.assign(new KafkaJSNonRetriableError('Number of retries exceeded'), { cause: Object.assign(new KafkaJSError('retrying'), { cause }) });
    expect(rejoinReason(wrapped, { joining: false })).toBe('REBALANCE_IN_PROGRESS');
  });

  it.each([
    [30, 'GROUP_AUTHORIZATION_FAILED'],
    [29, 'TOPIC_AUTHORIZATION_FAILED'],
    [26, 'INVALID_SESSION_TIMEOUT'],
    [23, 'INCONSISTENT_GROUP_PROTOCOL'],
    [35, 'UNSUPPORTED_VERSION'],
  ])('gives up on error code %i (%s)', (code) => {
    expect(rejoinReason(createErrorFromCode(code), { joining: true })).toBeUndefined();
  });

  it('gives up on errors that are no Kafka protocol answer', () => {
    expect(rejoinReason(new TypeError('x is undefined'), { joining: true })).toBeUndefined();
    expect(rejoinReason('not an error', { joining: true })).toBeUndefined();
  });
});

describe('rejoinDelayMs', () => {
  it('doubles from the first wait up to the cap, with ±20 % jitter', () => {
    expect(rejoinDelayMs(1, () => 0.5)).toBe(REJOIN_DELAY_MS);
    expect(rejoinDelayMs(2, () => 0.5)).toBe(2 * REJOIN_DELAY_MS);
    expect(rejoinDelayMs(30, () => 0.5)).toBe(MAX_REJOIN_DELAY_MS);
    expect(rejoinDelayMs(1, () => 0)).toBe(0.8 * REJOIN_DELAY_MS);
    expect(rejoinDelayMs(1, () => 1)).toBe(1.2 * REJOIN_DELAY_MS);
  });
});
