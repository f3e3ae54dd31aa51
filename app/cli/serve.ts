import { setTimeout as delay } from 'node:timers/promises';
import type { Config } from '../../shared/config.js';
import type { Deps } from '../../shared/deps.js';
import { errorMessage } from '../../shared/errors.js';
import { startPartProbes } from '../../shared/health/part-probes.js';
import { Readiness, type ComponentReporter } from '../../shared/health/readiness.js';
import { jsonResult, startHttpServer, type Route } from '../../shared/http/server.js';
import { tlsFilesFromConfig } from '../../shared/http/tls-files.js';
import type { KubeConfig } from '@kubernetes/client-node';
import type { HttpResult } from '../../shared/platform/trigger.js';
import { kubeConfigFromConfig } from '../../shared/k8s/client.js';
import type { LeaderSnapshot } from '../../shared/k8s/leader-election.js';
import { leaderElectionEnabled, runUnderLeadership } from './serve-leadership.js';
import { watchResource, type ResourceWatch, type WatchStatus } from '../../shared/k8s/watch.js';
import { consumerView, planWatches } from './watch-plan.js';
import { DEFAULT_MAX_WAIT_TIME_MS, runKafkaConsumer, type KafkaConsumerOptions } from '../../shared/kafka/consumer.js';
import type { SparkFunction } from '../../shared/platform/function.js';
import { isHttpResult } from '../../shared/platform/http-response.js';
import { invokeByName } from '../../shared/platform/invoke.js';
import { createDeps } from '../../shared/platform/runtime.js';

/** How often a schedule-triggered function runs under `sparkfn serve` unless it says otherwise. */
export const DEFAULT_SCHEDULE_EVERY_MS = 60_000;
/** Tries of a function on one watched change before it is logged and passed over (the watch must go on). */
const WATCH_HANDLER_ATTEMPTS = 3;
/** Pause before the next try, times the attempt number: enough for a store blip to pass. */
const WATCH_RETRY_DELAY_MS = 250;
/**
 * A consumer that neither fetched nor heartbeat for this many of its periods has lost its
 * brokers: an idle fetch returns every maxWaitTime, and a long batch still heartbeats.
 */
const KAFKA_STALE_PERIODS = 5;
/** kafkajs' default heartbeat period, which serve uses unless told otherwise. */
const KAFKA_HEARTBEAT_MS = 3_000;

export interface ServeOptions {
  config: Config;
  functions: readonly SparkFunction[];
  port: number;
  host: string;
  /** Deps to use instead of building them from the config (tests). */
  deps?: Deps;
  /** Cluster to watch instead of the one the config names. */
  kubeConfig?: KubeConfig;
  /** Consumer timings and sizes over the defaults (tests against the mock Kafka, whose group joins wait out the session timeout). */
  kafkaConsumer?: Pick<KafkaConsumerOptions, 'sessionTimeout' | 'heartbeatInterval' | 'rebalanceTimeout' | 'maxWaitTimeInMs' | 'connectTimeoutMs' | 'maxBytesPerPartition'>;
  /** How often the store and the certificate are probed (default `DEFAULT_PROBE_EVERY_MS`; tests go faster). */
  probeEveryMs?: number;
}

export interface RunningServe {
  url: string;
  port: number;
  /**
   * Rejects when a part the process cannot run without fails for good: the Kafka consumer gave
   * up, or a part stayed down longer than SPARKFN_UNREADY_EXIT_SECONDS (ComponentDownError).
   */
  failed: Promise<never>;
  /** Each configured part's state, as /readyz shows it. */
  readiness: Readiness;
  /** Who leads the singleton duties, as this replica last saw the Lease; undefined when leader election is off. */
  leadership(): LeaderSnapshot | undefined;
  /**
   * Graceful stop (SIGTERM): /readyz answers 503 at once; the singletons stop and the Lease is
   * released (immediate handover) and the Kafka consumer leaves its group, while HTTP is served
   * on for SPARKFN_SHUTDOWN_DELAY_MS; then the listeners close and in-flight requests finish.
   */
  close(): Promise<void>;
}

function functionRoutes(fn: SparkFunction, deps: Deps): Route[] {
  return (fn.routes ?? []).map((route) => ({
    path: route.path,
    methods: route.methods,
    auth: route.auth,
    handle: async (input, context) => asHttpResult(await fn.run(input, { ...deps, signal: context.signal })),
  }));
}

/** What a function answered, as an HTTP answer: an HttpResult as it is, anything else (a run summary) as 200 JSON. */
function asHttpResult(result: unknown): HttpResult {
  return isHttpResult(result) ? result : jsonResult(200, result ?? null);
}

/**
 * Hosts every function in one process, the self-hosted deployment: each function's HTTP
 * routes, `POST /invoke/<function>` (any trigger payload, webhook-authenticated: kube-eventer
 * and submitters post here), `/healthz`, `/metrics`, the Kafka consumer when brokers are
 * configured, and the timers.
 */
export async function startServe(options: ServeOptions): Promise<RunningServe> {
  const { config, functions } = options;
  const deps = options.deps ?? createDeps(config);
  const { logger } = deps;
  const stopping = new AbortController();
  deps.metrics.collectProcessMetrics();
  const readiness = new Readiness({ logger, metrics: deps.metrics, exitAfterSeconds: config.SPARKFN_UNREADY_EXIT_SECONDS });
  let draining = false;

  const invokeRoute: Route = {
    path: '/invoke/',
    methods: ['POST'],
    auth: 'webhook',
    json: true,
    handle: async (input, context) => {
      // input.path is decoded already; decoding it again would turn %25zz into a URIError (500).
      const name = input.path.slice('/invoke/'.length);
      // An HTTP-serving function (log-viewer) answers with its own status, headers and body.
      return asHttpResult(await invokeByName(functions, name, context.json, { ...deps, signal: context.signal }));
    },
  };
  const readyRoute: Route = {
    path: '/readyz',
    methods: ['GET', 'HEAD'],
    auth: 'public',
    handle: async () => {
      // Draining: still serving, but telling the Service (kube-proxy, the apiserver's webhook client) to stop sending.
      const ready = readiness.ready && !draining;
      return jsonResult(ready ? 200 : 503, { status: ready ? 'ready' : 'not-ready', components: readiness.snapshot() });
    },
  };
  const tls = tlsFilesFromConfig(config);
  const http = await startHttpServer(
    {
      routes: [readyRoute, invokeRoute, ...functions.flatMap((fn) => functionRoutes(fn, deps))],
      logger,
      metrics: deps.metrics,
      bodyLimitBytes: config.SPARKFN_BODY_LIMIT_BYTES,
      limits: {
        bodyTimeoutMs: config.SPARKFN_HTTP_BODY_TIMEOUT_MS,
        headersTimeoutMs: config.SPARKFN_HTTP_HEADERS_TIMEOUT_MS,
        requestTimeoutMs: config.SPARKFN_HTTP_REQUEST_TIMEOUT_MS,
        maxConnections: config.SPARKFN_HTTP_MAX_CONNECTIONS,
        bodyMemoryBytes: config.SPARKFN_HTTP_BODY_MEMORY_BYTES,
        keepAliveTimeoutMs: config.SPARKFN_HTTP_KEEP_ALIVE_TIMEOUT_MS,
      },
      auth: {
        ...(config.SPARKFN_WEBHOOK_TOKEN ? { token: config.SPARKFN_WEBHOOK_TOKEN } : {}),
        ...(config.SPARKFN_WEBHOOK_HMAC_SECRET ? { hmacSecret: config.SPARKFN_WEBHOOK_HMAC_SECRET } : {}),
        maxAgeSeconds: config.SPARKFN_WEBHOOK_MAX_AGE_SECONDS,
      },
      ...(tls ? { tls } : {}),
    },
    options.port,
    options.host,
  );
  if (!config.SPARKFN_WEBHOOK_TOKEN && !config.SPARKFN_WEBHOOK_HMAC_SECRET) {
    logger.warn('no SPARKFN_WEBHOOK_TOKEN or SPARKFN_WEBHOOK_HMAC_SECRET: webhook routes answer 401 to every request');
  }

  startPartProbes({ readiness, store: deps.store, ...(tls ? { tlsCert: tls.cert } : {}), ...(tls?.clientCa ? { clientCa: tls.clientCa } : {}), ...(options.probeEveryMs ? { everyMs: options.probeEveryMs } : {}), signal: stopping.signal });

  const kafkaFunctions = functions.filter((fn) => fn.triggers.includes('kafka'));
  const brokers = kafkaFunctions.length > 0 ? config.SPARKFN_KAFKA_BROKERS : undefined;
  const kafkaPart = brokers ? readiness.component('kafka-consumer') : undefined;
  const consumerTimings = { ...kafkaTimingsFromConfig(config), ...options.kafkaConsumer };
  const kafkaStaleMs =
    KAFKA_STALE_PERIODS * Math.max(consumerTimings.heartbeatInterval ?? KAFKA_HEARTBEAT_MS, consumerTimings.maxWaitTimeInMs ?? DEFAULT_MAX_WAIT_TIME_MS);
  const kafkaRejoins = brokers
    ? deps.metrics.counter('kafka_consumer_rejoins_total', 'Times the Kafka consumer joined its group again after a group-coordination error, by error type.', ['reason'])
    : undefined;
  const consumerLag = deps.metrics.gauge('log_archiver_consumer_lag', "Records between the in-process consumer's committed offset and the partition's high watermark, after its last commit.", ['topic', 'partition']);
  const consumer =
    brokers && kafkaPart
      ? await runKafkaConsumer({
          brokers,
          clientId: config.SPARKFN_KAFKA_CLIENT_ID,
          groupId: config.SPARKFN_KAFKA_GROUP,
          topics: config.SPARKFN_KAFKA_TOPICS,
          fromBeginning: config.SPARKFN_KAFKA_FROM_BEGINNING,
          ...consumerTimings,
          logger,
          onStatus: (status) => {
            if (status.state === 'up') kafkaPart.beat(kafkaStaleMs, `no fetch or heartbeat for ${kafkaStaleMs / 1000} s`);
            else kafkaPart.down(status.reason, status.detail);
          },
          onRejoin: (reason) => kafkaRejoins?.inc({ reason }),
          onLag: ({ topic, partition, records }) => consumerLag.set({ topic, partition: String(partition) }, records),
          handler: async (batch) => {
            // Every Kafka function must succeed before the batch's offsets are committed.
            for (const fn of kafkaFunctions) await fn.run(batch, { ...deps, signal: stopping.signal });
          },
        })
      : undefined;

  // Timers and watches write state: exactly one replica runs them, the one holding the Lease.
  const kubeConfig = options.kubeConfig ?? (await kubeConfigFromConfig(config));
  const scheduled = functions.filter((fn) => fn.triggers.includes('schedule'));
  const watched = functions.filter((fn) => (fn.watches ?? []).length > 0);
  const duties = [...scheduled.map((fn) => `timer:${fn.name}`), ...(kubeConfig ? watched.map((fn) => `watch:${fn.name}`) : [])];
  const leadership = runUnderLeadership({
    config,
    kubeConfig: leaderElectionEnabled(config, kubeConfig) && duties.length > 0 ? kubeConfig : undefined,
    deps,
    duties,
    readiness,
    singletons: async (signal) => {
      const watches = await startWatches({ ...options, ...(kubeConfig ? { kubeConfig } : {}) }, deps, readiness, signal);
      const timers = startTimers(scheduled, deps, signal);
      await new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })));
      await Promise.all([timers.stopped(), ...watches.map((w) => w.watch.done.catch(() => undefined))]);
      for (const w of watches) readiness.remove(w.part);
    },
  });

  const failed = new Promise<never>((_resolve, reject) => {
    consumer?.done.catch((err: unknown) => {
      logger.fatal({ err: errorMessage(err) }, 'the Kafka consumer stopped for good');
      reject(err);
    });
    readiness.failed.catch(reject);
  });
  // Callers that only await close() must not see an unhandled rejection.
  failed.catch(() => {});

  return {
    url: http.url,
    port: http.port,
    failed,
    readiness,
    leadership: () => leadership.snapshot(),
    close: async () => {
      draining = true;
      const delayMs = config.SPARKFN_SHUTDOWN_DELAY_MS;
      if (delayMs > 0) logger.info({ delayMs }, 'shutting down: /readyz answers 503; serving HTTP until the endpoints forget this replica');
      // At once, not after the delay: the singletons stop and the Lease is released, so another
      // replica leads within moments; the consumer finishes its batch and leaves the group, so its
      // partitions move while this replica still answers HTTP.
      const handedOver = Promise.all([leadership.stop(), consumer?.stop()]);
      // The endpoints controller, every kube-proxy and the apiserver's webhook client learn that
      // this pod is going only after a moment; until then they still send here (a preStop sleep).
      await delay(delayMs);
      readiness.close();
      stopping.abort();
      await Promise.all([handedOver, http.close()]);
    },
  };
}

/** The consumer-group timings the operator set; unset ones are left to kafkajs' defaults. */
function kafkaTimingsFromConfig(config: Config): NonNullable<ServeOptions['kafkaConsumer']> {
  return {
    ...(config.SPARKFN_KAFKA_SESSION_TIMEOUT_MS !== undefined ? { sessionTimeout: config.SPARKFN_KAFKA_SESSION_TIMEOUT_MS } : {}),
    ...(config.SPARKFN_KAFKA_HEARTBEAT_INTERVAL_MS !== undefined ? { heartbeatInterval: config.SPARKFN_KAFKA_HEARTBEAT_INTERVAL_MS } : {}),
    ...(config.SPARKFN_KAFKA_REBALANCE_TIMEOUT_MS !== undefined ? { rebalanceTimeout: config.SPARKFN_KAFKA_REBALANCE_TIMEOUT_MS } : {}),
    ...(config.SPARKFN_KAFKA_MAX_WAIT_MS !== undefined ? { maxWaitTimeInMs: config.SPARKFN_KAFKA_MAX_WAIT_MS } : {}),
  };
}

/**
 * Runs each schedule-triggered function every `scheduleEveryMs` until `signal` aborts; a run
 * still going when the next tick comes is not started twice. `stopped()` resolves once the
 * timers are cleared and every run in flight has ended.
 */
function startTimers(functions: readonly SparkFunction[], deps: Deps, signal: AbortSignal): { stopped(): Promise<void> } {
  const inFlight = new Set<Promise<void>>();
  const timers = functions.map((fn) => {
    let running = false;
    const every = fn.scheduleEveryMs ?? DEFAULT_SCHEDULE_EVERY_MS;
    const timer = setInterval(() => {
      if (running || signal.aborted) return;
      running = true;
      const startedAt = Date.now();
      const run = fn
        .run({ kind: 'schedule', source: 'sparkfn-serve', time: deps.clock.now(), name: fn.name }, { ...deps, signal })
        .then(
          // One line per run, with its span: which replica ran which timer when (an HA deployment runs each on one replica at a time).
          (summary) => deps.logger.info({ function: fn.name, startedAt, endedAt: Date.now(), summary }, 'scheduled run'),
          (err: unknown) => deps.logger.error({ function: fn.name, startedAt, endedAt: Date.now(), err: errorMessage(err) }, 'scheduled run failed'),
        )
        .finally(() => {
          running = false;
          inFlight.delete(run);
        });
      inFlight.add(run);
    }, every);
    timer.unref();
    return timer;
  });
  const cleared = new Promise<void>((resolve) => {
    const clear = () => {
      for (const timer of timers) clearInterval(timer);
      resolve();
    };
    if (signal.aborted) clear();
    else signal.addEventListener('abort', clear, { once: true });
  });
  return {
    stopped: async () => {
      await cleared;
      await Promise.all([...inFlight]);
    },
  };
}

/**
 * One watch per watched path, shared by every function that asked for it (planWatches): each
 * change is handed, in order, to every function whose own selector picks the object. A function
 * that keeps failing on a change is logged and passed over so that one bad object cannot stall
 * the others.
 */
async function startWatches(options: ServeOptions, deps: Deps, readiness: Readiness, signal: AbortSignal): Promise<{ watch: ResourceWatch; part: string }[]> {
  const planned = planWatches(options.functions);
  if (planned.length === 0) return [];
  const kubeConfig = options.kubeConfig ?? (await kubeConfigFromConfig(options.config));
  if (!kubeConfig) {
    deps.logger.warn({ watches: planned.map((w) => `${w.path}?${w.labelSelector ?? ''}`) }, 'no cluster configured (SPARKFN_K8S_URL, KUBECONFIG or in-cluster): watches are off');
    return [];
  }
  const failures = deps.metrics.counter('watch_handler_failures_total', 'Watched changes a function failed on after every try.', ['function']);
  const refusals = deps.metrics.counter('watch_refused_total', 'Watch and list requests the apiserver refused (401 or 403), by watched path.', ['path']);
  return planned.map(({ path, labelSelector, consumers }) => {
    const partName = `watch ${path}${labelSelector ? `?labelSelector=${labelSelector}` : ''}`;
    const part = readiness.component(partName);
    const watch = watchResource({
      kubeConfig,
      path,
      ...(labelSelector ? { labelSelector } : {}),
      signal,
      onStatus: (status) => reportWatch(status, part, () => refusals.inc({ path })),
      onEvent: async (event) => {
        for (const { fn, filter } of consumers) {
          const change = consumerView(event, filter);
          if (!change) continue;
          const input = { kind: 'k8s-objects' as const, source: 'k8s:watch', changes: [{ type: change.type, object: change.object as never }] };
          for (let attempt = 1; ; attempt++) {
            try {
              await fn.run(input, { ...deps, signal });
              break;
            } catch (err) {
              if (attempt >= WATCH_HANDLER_ATTEMPTS || signal.aborted) {
                failures.inc({ function: fn.name });
                deps.logger.error({ function: fn.name, path, err: errorMessage(err) }, 'a watched change failed every try; passing over it');
                break;
              }
              await delay(WATCH_RETRY_DELAY_MS * attempt, undefined, { signal }).catch(() => undefined);
            }
          }
        }
      },
    });
    watch.done.catch((err: unknown) => {
      deps.logger.error({ path, err: errorMessage(err) }, 'watch stopped');
      part.down('the watch stopped', errorMessage(err));
    });
    return { watch, part: partName };
  });
}

/**
 * A watch's progress as readiness: listed or watching is up; a retry is down, and a refusal
 * (401: the token is wrong or expired; 403: RBAC) is also counted. The readiness registry logs
 * each change of state once, not each retry.
 */
function reportWatch(status: WatchStatus, part: ComponentReporter, refused: () => void): void {
  if (status.type !== 'retrying') return part.up();
  if (status.error.class === 'forbidden') {
    refused();
    return part.down(`the apiserver refused the watch (${status.error.code ?? 'forbidden'})`, status.error.message);
  }
  part.down('the watch is reconnecting', status.error.message);
}
