import type { Deps } from '../../shared/deps.js';
import { loadConfig } from '../../shared/config.js';
import { errorMessage, InvalidInputError } from '../../shared/errors.js';
import { errorResult } from '../../shared/http/server.js';
import { webhookAuthProblem } from '../../shared/http/webhook-auth.js';
import { clientCertificateProblem } from '../../shared/http/client-certificate.js';
import { kubeConfigFromConfig } from '../../shared/k8s/client.js';
import type { SparkFunction } from '../../shared/platform/function.js';
import type { HttpInput, HttpResult, K8sEventsInput, K8sObjectsInput, TriggerInput } from '../../shared/platform/trigger.js';
import { ADMISSION_PATH, admit } from './admission.js';
import { kubeSpotCluster, type SpotCluster } from './cluster.js';
import { signalFromEvent, signalFromPod } from './eci-signals.js';
import type { V1Pod } from '@kubernetes/client-node';
import { SPARKFN, type PodLike } from './placement.js';
import { releaseProbesOf } from './probe-claims.js';
import { spotSettingsFromConfig, type SpotSettings } from './settings.js';
import { countSkip, emptyCounters, processProbeResult, processSignal, type SpotCounters } from './signals.js';
import type { SpotDeps } from './spot-deps.js';
import { SpotStateCache } from './state-cache.js';

/** What a run returns: the counters of an event batch, or the webhook's HTTP answer. */
export type SpotResult = SpotCounters | HttpResult;

/** Executor pods, for `sparkfn serve`'s pod watch (BidFailed endings and probe results). */
export const EXECUTOR_POD_WATCH = { path: '/api/v1/pods', labelSelector: 'spark-role=executor' } as const;

/**
 * spot-fallback's core.
 * - `http` POST /admission/spot-fallback: an AdmissionReview for an executor pod CREATE, answered
 *   with a JSONPatch that routes it (fallback annotation and label when spot is fine, healthy
 *   vSwitches first when some zones are out, on-demand when all are, a probe when half-open);
 *   always `allowed: true`, unpatched on any error or timeout.
 * - `k8s-events`: ECI's NoStock, StockExhaust, StockClose, SpotDegraded, ProviderCreateFailed and
 *   SpotToBeReleased about executor pods open breakers in state/spot-breaker/, recycle stuck
 *   Pending executors, relabel degraded ones and count (and optionally evict) reclaims.
 * - `k8s-objects`: an executor pod ending Failed/BidFailed is a reclaim; a probe pod running closes
 *   its breakers.
 * One bad event is logged and skipped; the run throws only when every signal failed (store down),
 * so the platform retries the batch.
 * @example
 * const summary = await run({ kind: 'k8s-events', source: 'local', events: [noStockEvent] }, spotDeps);
 * // { signals: 1, breakersOpened: 1, recycled: 1, reclaims: 0, evicted: 0, relabelled: 0, skipped: 0, skippedBy: {}, failed: 0, breakersClosed: 0 }
 */
export async function run(input: TriggerInput, deps: SpotDeps): Promise<SpotResult> {
  switch (input.kind) {
    case 'http':
      if (input.path !== ADMISSION_PATH) return errorResult(404, 'not-found', `spot-fallback serves ${ADMISSION_PATH} only.`);
      if (input.method !== 'POST') return { ...errorResult(405, 'method-not-allowed', `${input.method} is not allowed here; use POST.`), headers: { allow: 'POST' } };
      {
        const problem = admissionAuthProblem(input, deps.settings);
        if (problem) {
          const refused = errorResult(401, 'unauthorized', `Unauthorized: ${problem}.`);
          return { ...refused, headers: { ...refused.headers, 'www-authenticate': 'Bearer' } };
        }
      }
      try {
        return (await admit(input, deps)).result;
      } catch (err) {
        if (err instanceof InvalidInputError) return errorResult(400, err.reason, err.message);
        throw err;
      }
    case 'k8s-events':
      return summarize(await handleEvents(input, deps), deps);
    case 'k8s-objects':
      return summarize(await handleObjects(input, deps), deps);
    default:
      throw new InvalidInputError(`spot-fallback takes Kubernetes events, pod changes and AdmissionReviews, not ${input.kind} triggers.`, 'wrong-trigger');
  }
}

/** Every configured credential must be there: the token and the client certificate when both are set. */
function admissionAuthProblem(input: HttpInput, settings: SpotSettings): string | undefined {
  if (settings.admissionClientCertificate) {
    const problem = clientCertificateProblem(input.clientCertificate, settings.admissionClientCertificate.names);
    if (problem) return problem;
  }
  if (settings.admissionToken) return webhookAuthProblem(input.headers, input.body, { token: settings.admissionToken });
  return undefined;
}

function summarize(counters: SpotCounters, deps: SpotDeps): SpotCounters {
  deps.logger.info({ function: 'spot-fallback', ...counters }, 'spot-fallback run');
  if (counters.failed > 0 && counters.signals === 0) {
    throw new Error(`spot-fallback could not record any of ${counters.failed} signal(s); see the log for each.`);
  }
  return counters;
}

async function handleEvents(input: K8sEventsInput, deps: SpotDeps): Promise<SpotCounters> {
  const counters = emptyCounters();
  for (const event of input.events) {
    const signal = signalFromEvent(event, deps.clock.now());
    if ('skip' in signal) {
      countSkip(counters, signal.skip);
      continue;
    }
    if (!deps.cluster) {
      // Without the pod its zones and specs are unknown, so no breaker can be told.
      countSkip(counters, 'no-cluster');
      deps.logger.warn({ reason: signal.reason, namespace: signal.namespace, pod: signal.pod }, 'spot signal skipped: no cluster is configured to look up its pod');
      continue;
    }
    try {
      const pod = await deps.cluster.getPod(signal.namespace, signal.pod);
      await processSignal(signal, pod, deps, counters);
    } catch (err) {
      counters.failed++;
      deps.logger.error({ reason: signal.reason, namespace: signal.namespace, pod: signal.pod, err: errorMessage(err) }, 'spot signal failed');
    }
  }
  return counters;
}

async function handleObjects(input: K8sObjectsInput, deps: SpotDeps): Promise<SpotCounters> {
  const counters = emptyCounters();
  for (const change of input.changes) {
    if (change.object.kind !== 'Pod') {
      countSkip(counters, 'not-a-pod');
      continue;
    }
    if (change.type === 'DELETED') {
      const meta = change.object.metadata;
      const probe = meta.annotations?.[SPARKFN.probeAnnotation] && (change.object as unknown as V1Pod).status?.phase === 'Pending';
      try {
        if (!probe || (await releaseProbesOf({ namespace: meta.namespace ?? 'default', name: meta.name }, deps)) === 0) countSkip(counters, 'pod-deleted');
      } catch (err) {
        counters.failed++;
        deps.logger.error({ pod: meta.name, err: errorMessage(err) }, 'could not release the probe of a deleted pod');
      }
      continue;
    }
    const pod = change.object as unknown as V1Pod;
    try {
      const signal = signalFromPod(pod as PodLike, deps.clock.now());
      if (signal) await processSignal(signal, pod, deps, counters);
      else await processProbeResult(pod, deps, counters);
    } catch (err) {
      counters.failed++;
      deps.logger.error({ pod: change.object.metadata.name, err: errorMessage(err) }, 'spot pod change failed');
    }
  }
  return counters;
}

/** What a host may fix instead of reading it from the environment (tests, the demo). */
export interface SpotFunctionOptions {
  settings?: SpotSettings;
  /** `null`: no cluster, even when one is configured. */
  cluster?: SpotCluster | null;
}

/**
 * spot-fallback as every host sees it. Settings and the cluster come from the environment on
 * first use unless given; the state cache lives as long as this function object (safe to lose).
 */
export function createSpotFunction(options: SpotFunctionOptions = {}): SparkFunction<SpotResult> {
  let resolved: { settings: SpotSettings; cluster?: SpotCluster; cache?: SpotStateCache } | undefined;
  const spotDeps = async (deps: Deps): Promise<SpotDeps> => {
    if (!resolved) {
      const config = options.settings && options.cluster !== undefined ? undefined : loadConfig();
      const settings = options.settings ?? spotSettingsFromConfig(config!);
      let cluster: SpotCluster | undefined;
      if (options.cluster !== undefined) cluster = options.cluster ?? undefined;
      else {
        const kubeConfig = await kubeConfigFromConfig(config!);
        cluster = kubeConfig ? await kubeSpotCluster(kubeConfig) : undefined;
      }
      // Two first invocations may both get here: the first to finish wins, so all share one cache.
      resolved ??= { settings, ...(cluster ? { cluster } : {}) };
    }
    resolved.cache ??= new SpotStateCache(resolved.settings, deps.clock);
    return { ...deps, settings: resolved.settings, cache: resolved.cache, ...(resolved.cluster ? { cluster: resolved.cluster } : {}) };
  };
  return {
    name: 'spot-fallback',
    triggers: ['http', 'k8s-events', 'k8s-objects'],
    // Public to sparkfn serve's webhook auth: the apiserver sends SPARKFN_ADMISSION_TOKEN or a client certificate
    // (both checked in run) or nothing (then a NetworkPolicy keeps others out, deploy/spot-fallback/README.md).
    routes: [{ path: ADMISSION_PATH, methods: ['POST'], auth: 'public' }],
    watches: [EXECUTOR_POD_WATCH],
    run: async (input, deps) => run(input, await spotDeps(deps)),
  };
}

/** spot-fallback with settings and cluster from the environment. */
export const fn: SparkFunction<SpotResult> = createSpotFunction();
