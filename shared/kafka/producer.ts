import { Partitioners, type Message, type Producer } from 'kafkajs';
import type { Logger } from 'pino';
import type { OutboundMessage, Publisher } from '../deps.js';
import { SparkfnError } from '../errors.js';
import { createKafka, type KafkaClient } from './client.js';
import { COMPRESSION, type CompressionName } from './codecs.js';

export interface KafkaPublisherOptions {
  brokers: string[];
  clientId: string;
  logger: Logger;
  /** Codec for produced batches (default `none`); consumers need the same codec to read them. */
  compression?: CompressionName;
  /** Deadline for the first connection; default `DEFAULT_CONNECT_TIMEOUT_MS`. */
  connectTimeoutMs?: number;
}

/**
 * `Publisher` over a kafkajs producer. It connects on the first `publish` (a function that never
 * publishes never opens a connection) and reconnects on the next one if that failed. Sends wait
 * for all in-sync replicas (acks -1): a result reported as published is not lost with a leader.
 *
 * @example
 * const publisher = new KafkaPublisher({ brokers, clientId: 'sparkfn', logger, compression: 'lz4' });
 * await publisher.publish('spark-costs', [{ key: appId, value: JSON.stringify(cost) }]);
 * await publisher.close();
 */
export class KafkaPublisher implements Publisher {
  private readonly client: KafkaClient;
  private readonly producer: Producer;
  private connecting: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly options: KafkaPublisherOptions) {
    this.client = createKafka(options);
    // Named explicitly: kafkajs warns on every producer created without a partitioner choice.
    this.producer = this.client.kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  }

  async publish(topic: string, messages: OutboundMessage[]): Promise<void> {
    if (this.closed) throw new SparkfnError('This KafkaPublisher is closed; create a new one to publish.');
    if (messages.length === 0) return;
    await this.connect();
    await this.producer.send({
      topic,
      acks: -1,
      compression: COMPRESSION[this.options.compression ?? 'none'],
      messages: messages.map(toKafkajsMessage),
    });
  }

  /** Disconnects (every send was already awaited by `publish`); idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.connecting) await this.producer.disconnect();
  }

  private connect(): Promise<void> {
    this.connecting ??= this.client.connect(this.producer).catch((err: unknown) => {
      this.connecting = undefined;
      throw err;
    });
    return this.connecting;
  }
}

function toKafkajsMessage({ key, value, headers }: OutboundMessage): Message {
  return {
    key: key ?? null,
    value,
    ...(headers ? { headers } : {}),
  };
}
