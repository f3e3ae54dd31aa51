import type { Logger } from 'pino';
import type { Clock } from './clock.js';
import type { Metrics } from './metrics.js';
import type { ObjectStore } from './store/object-store.js';

/** A message to publish (Kafka or any other bus). */
export interface OutboundMessage {
  key?: string | Buffer | null;
  value: string | Buffer;
  headers?: Record<string, string | Buffer>;
}

/** Where functions publish results (cost records, alerts). */
export interface Publisher {
  publish(topic: string, messages: OutboundMessage[]): Promise<void>;
}

/**
 * Everything a function core needs from the outside world. Adapters and the CLI build it;
 * cores never create clients themselves. Kubernetes access is added by the functions that
 * need it (their own deps extend this one with `cluster`).
 */
export interface Deps {
  store: ObjectStore;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  publisher?: Publisher;
  /** Aborted when the invocation's deadline nears: stop taking new work and flush. */
  signal?: AbortSignal;
}
