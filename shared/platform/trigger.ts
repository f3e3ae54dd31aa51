import type { CoreV1Event } from '@kubernetes/client-node';

/**
 * The platform-neutral inputs a function core receives. Adapters turn every payload we accept
 * (Lambda, FC, kube-eventer, the local runner) into exactly one of these; only adapters know
 * how a platform wrapped it.
 */
export type TriggerInput = KafkaBatchInput | ScheduleInput | HttpInput | K8sEventsInput | K8sObjectsInput;
export type TriggerKind = TriggerInput['kind'];

/** One Kafka record, decoded: key and value are raw bytes (null for a missing key or a tombstone). */
export interface KafkaRecord {
  topic: string;
  partition: number;
  /** Kafka offsets are int64: kept as a decimal string, as kafkajs does. */
  offset: string;
  /** Milliseconds since the epoch, when the payload carried one. */
  timestamp?: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, Buffer>;
}

export interface KafkaBatchInput {
  kind: 'kafka';
  /** Where the batch came from, e.g. `aws:SelfManagedKafka`, `acs:alikafka`, `local`. */
  source: string;
  records: KafkaRecord[];
}

export interface ScheduleInput {
  kind: 'schedule';
  source: string;
  /** When the timer fired (ms since the epoch). */
  time: number;
  /** The trigger's name or rule ARN, when the platform gives one. */
  name?: string;
  /** The free-form payload string a timer trigger carries (FC), if any. */
  payload?: string;
}

export interface HttpInput {
  kind: 'http';
  source: string;
  method: string;
  /** Decoded path, without the query string. */
  path: string;
  query: Record<string, string>;
  /** Header names in lower case. */
  headers: Record<string, string>;
  body: Buffer;
  /**
   * The client certificate the TLS connection presented, set only by `sparkfn serve` when it
   * asks for one (SPARKFN_ADMISSION_CLIENT_CA_FILE); no other host can vouch for a peer.
   */
  clientCertificate?: ClientCertificate;
  /** The TCP peer's address, set only by `sparkfn serve` (log-viewer trusts auth-proxy headers only from configured proxies). */
  remoteAddress?: string;
}

/** A client certificate as the TLS handshake left it. */
export interface ClientCertificate {
  /** The certificate chains to the configured client CA (and is valid now). */
  authorized: boolean;
  /** Why not, as OpenSSL says it (`UNABLE_TO_VERIFY_LEAF_SIGNATURE`, `CERT_HAS_EXPIRED`). */
  authorizationError?: string;
  /** The subject's CN and DNS subject alternative names. */
  names: string[];
}

export interface K8sEventsInput {
  kind: 'k8s-events';
  source: string;
  /** Deduplicated by event UID + count, in arrival order. */
  events: CoreV1Event[];
}

/** A Kubernetes object as a watch delivers it: any kind but Event (those are K8sEventsInput). */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; uid?: string; resourceVersion?: string; labels?: Record<string, string>; annotations?: Record<string, string>; [field: string]: unknown };
  [field: string]: unknown;
}

/** One change a watch saw: a pod created, changed (its phase moved) or deleted. */
export interface K8sObjectChange {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: K8sObject;
}

/** Object changes from a watch (`sparkfn serve`'s pod watch) or a watch event posted to us, in order. */
export interface K8sObjectsInput {
  kind: 'k8s-objects';
  source: string;
  changes: K8sObjectChange[];
}

/** What an HTTP-serving function returns; adapters map it to API Gateway, FC or node:http. */
export interface HttpResult {
  status: number;
  headers?: Record<string, string>;
  /** A string, bytes, or a stream for large bodies (log-viewer). */
  body?: string | Buffer | NodeJS.ReadableStream;
}
