import { Kafka, type RetryOptions } from 'kafkajs';
import type { Logger } from 'pino';
import { SparkfnError, errorMessage } from '../errors.js';
import { registerCompressionCodecs } from './codecs.js';
import { kafkajsLogCreator, kafkajsLogLevel } from './kafkajs-logger.js';

/**
 * How long the first connection may take before we give up with `KafkaUnavailableError`: long
 * enough for kafkajs' own retries to ride out a broker restart, short enough that a wrong
 * SPARKFN_KAFKA_BROKERS fails startup visibly instead of hanging.
 */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/**
 * kafkajs' production retry defaults, pinned: kafkajs silently swaps in much faster ones when
 * NODE_ENV is `test` (vitest sets it), and tests should see what production does.
 */
export const KAFKA_RETRY: Readonly<Required<Omit<RetryOptions, 'restartOnFailure'>>> = {
  initialRetryTime: 300,
  maxRetryTime: 30_000,
  factor: 0.2,
  multiplier: 2,
  retries: 5,
};

/** No broker answered within the deadline (wrong address, brokers down, network policy). */
export class KafkaUnavailableError extends SparkfnError {
  constructor(
    readonly brokers: readonly string[],
    timeoutMs: number,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(
      `Could not connect to Kafka at ${brokers.join(',')} within ${timeoutMs} ms (${reason}). ` +
        'Check SPARKFN_KAFKA_BROKERS and that the brokers are reachable from here.',
      options,
    );
    this.name = 'KafkaUnavailableError';
  }
}

export interface KafkaClientOptions {
  brokers: string[];
  clientId: string;
  logger: Logger;
  /** Deadline for the first connection; default `DEFAULT_CONNECT_TIMEOUT_MS`. */
  connectTimeoutMs?: number;
}

/** A kafkajs client plus `connect`, which bounds a kafkajs connect and explains its failure. */
export interface KafkaClient {
  kafka: Kafka;
  /**
   * Runs `client.connect()` (a producer's or consumer's) under the connect deadline. On failure
   * or timeout it disconnects the client, so that kafkajs stops retrying in the background, and
   * throws `KafkaUnavailableError` naming the brokers and the last connection error kafkajs saw.
   */
  connect(client: { connect(): Promise<void>; disconnect(): Promise<void> }): Promise<void>;
}

/** A kafkajs client with our codecs registered, its logs routed to pino, and retries pinned. */
export function createKafka({ brokers, clientId, logger, connectTimeoutMs }: KafkaClientOptions): KafkaClient {
  registerCompressionCodecs();
  let lastConnectionError: string | undefined;
  const kafka = new Kafka({
    brokers,
    clientId,
    retry: KAFKA_RETRY,
    logLevel: kafkajsLogLevel(logger),
    // kafkajs reports why a socket failed (ECONNREFUSED, ENOTFOUND, timeout) only in its logs; when
    // the deadline wins the race against its retries, that is the reason we can give.
    logCreator: kafkajsLogCreator(logger, ({ namespace, log }) => {
      if (namespace === 'Connection') lastConnectionError = log.message;
      // A peer that accepts and then closes the socket is only reported by the broker pool.
      else if (namespace === 'BrokerPool') lastConnectionError ??= log.message.replace(/^.*from the list: /, '');
    }),
  });
  const timeoutMs = connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  return {
    kafka,
    connect: async (client) => {
      lastConnectionError = undefined;
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new KafkaUnavailableError(brokers, timeoutMs, lastConnectionError ?? 'no broker answered')),
          timeoutMs,
        );
      });
      const attempt = client.connect();
      try {
        await Promise.race([attempt, deadline]);
      } catch (err) {
        // The losing attempt may still reject later; `err` has reported it already.
        attempt.catch(() => {});
        await client.disconnect().catch(() => {});
        if (err instanceof KafkaUnavailableError) throw err;
        throw new KafkaUnavailableError(brokers, timeoutMs, rootMessage(err), { cause: err });
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** kafkajs wraps the socket error in retry errors; the innermost one says what went wrong. */
function rootMessage(err: unknown): string {
  let current: unknown = err;
  while (current instanceof Error && current.cause instanceof Error) current = current.cause;
  return errorMessage(current);
}
