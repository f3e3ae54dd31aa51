/**
 * What one client may cost the server, and the defaults `sparkfn serve` uses (each overridable
 * through shared/config.ts). Credentials are checked from the headers before any body byte is
 * read; these limits bound what a client can hold before that check, and what a client that
 * may send a body can hold while it does.
 */
export interface EdgeLimits {
  /** Largest request body; larger ones get 413. */
  bodyLimitBytes: number;
  /** The whole body must arrive within this long after the headers (and any wait for body memory), else 408. */
  bodyTimeoutMs: number;
  /** Request headers must be complete within this long after the connection opened or the previous request ended, else 408. */
  headersTimeoutMs: number;
  /** The whole request must be received within this long, else 408 (node:http's `requestTimeout`). */
  requestTimeoutMs: number;
  /** Connections beyond this many are closed as soon as they are accepted. */
  maxConnections: number;
  /** Body bytes all requests together may hold in memory while they are read; a body waits (within its timeout) for room. */
  bodyMemoryBytes: number;
  /**
   * How long an idle keep-alive connection stays open. Idle connections are also the first to go
   * when a new connection finds the server at `maxConnections`.
   */
  keepAliveTimeoutMs: number;
}

/** 1 MiB: big enough for an AdmissionReview of a large pod or a kube-eventer batch, small enough to refuse floods. */
export const DEFAULT_BODY_LIMIT_BYTES = 1024 * 1024;
/** 10 s: 1 MiB arrives in under a second on any link a webhook sender uses; a slower body is an attack or a stalled peer. */
export const DEFAULT_BODY_TIMEOUT_MS = 10_000;
/** 10 s: senders write their headers in one packet; Node's 60 s default lets a slow-headers client hold a connection six times longer. */
export const DEFAULT_HEADERS_TIMEOUT_MS = 10_000;
/** 30 s: the longest an admission webhook may take as a whole (kube-apiserver's cap); Node's default is 300 s. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
/** 1024: beyond any fan-in of senders we serve, and each idle connection costs a few KiB, so the cap keeps memory far below the pod limit. */
export const DEFAULT_MAX_CONNECTIONS = 1024;
/** 8 MiB: eight bodies at the 1 MiB limit, or hundreds of typical (tens of KiB) ones, at once; a flood of large bodies then costs the pod at most this much. */
export const DEFAULT_BODY_MEMORY_BYTES = 8 * 1024 * 1024;
/**
 * 95 s: longer than the 90 s the apiserver's webhook client (Go's http.Transport IdleConnTimeout,
 * kept by client-go) holds an idle connection, so the client always closes first. With Node's
 * 5 s default the server closes connections the client still counts as free, and a review sent
 * on one just then meets a reset (the apiserver fails open: the pod goes unpatched).
 */
export const DEFAULT_KEEP_ALIVE_TIMEOUT_MS = 95_000;
/**
 * How often node:http checks headers and request timeouts. Its 30 s default makes a 10 s
 * timeout fire anywhere between 10 and 40 s.
 */
export const CONNECTIONS_CHECK_INTERVAL_MS = 1_000;

/** The defaults above as one object. */
export const DEFAULT_EDGE_LIMITS: Readonly<EdgeLimits> = {
  bodyLimitBytes: DEFAULT_BODY_LIMIT_BYTES,
  bodyTimeoutMs: DEFAULT_BODY_TIMEOUT_MS,
  headersTimeoutMs: DEFAULT_HEADERS_TIMEOUT_MS,
  requestTimeoutMs: DEFAULT_REQUEST_TIMEOUT_MS,
  maxConnections: DEFAULT_MAX_CONNECTIONS,
  bodyMemoryBytes: DEFAULT_BODY_MEMORY_BYTES,
  keepAliveTimeoutMs: DEFAULT_KEEP_ALIVE_TIMEOUT_MS,
};
