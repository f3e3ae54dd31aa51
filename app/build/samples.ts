import { join } from 'node:path';
import { ROOT, type Target } from './bundle.js';

/**
 * A sample event from events/ that each function accepts on each platform, and the environment
 * it needs besides SPARKFN_STORE: the first event after a cold start, for the bench and tests.
 */
export interface Sample {
  event: string;
  env?: Record<string, string>;
  /** What the run does without a cluster, when the function needs one. */
  note?: string;
}

// janitor cannot run without a cluster: an apiserver address nothing listens on makes every
// list fail fast (connection refused), which janitor reports and audits as a run with failures.
const NO_CLUSTER = { SPARKFN_K8S_URL: 'http://127.0.0.1:9', SPARKFN_JANITOR_DRY_RUN: 'true' };

export const SAMPLES: Readonly<Record<string, Readonly<Record<Target, Sample>>>> = {
  'log-archiver': {
    lambda: { event: 'lambda/self-managed-kafka.json' },
    fc: { event: 'fc/eventbridge-kafka.json' },
  },
  // Reads what log-archiver wrote; on an empty store the answer is a 404.
  'log-viewer': {
    lambda: { event: 'lambda/http-api-v2.json' },
    fc: { event: 'fc/http.json' },
  },
  'job-cost': {
    lambda: { event: 'job-cost/spark-application-completed.json' },
    fc: { event: 'job-cost/spot-degraded.json' },
  },
  'spot-fallback': {
    lambda: { event: 'spot-fallback/stock-exhaust.json' },
    fc: { event: 'spot-fallback/stock-exhaust.json' },
  },
  // A drain of an empty queue; no cluster is needed to find nothing to admit.
  'quota-retry': {
    lambda: { event: 'lambda/schedule.json' },
    fc: { event: 'fc/timer.json' },
  },
  // The sample cluster state as watched changes: builds the model, needs no cluster.
  'spark-monitor': {
    lambda: { event: 'spark-monitor/cluster-state.json' },
    fc: { event: 'spark-monitor/cluster-state.json' },
  },
  janitor: {
    lambda: { event: 'lambda/schedule.json', env: NO_CLUSTER, note: 'dry run, apiserver unreachable' },
    fc: { event: 'janitor/timer-dry-run.json', env: NO_CLUSTER, note: 'dry run, apiserver unreachable' },
  },
};

export function sampleFile(sample: Sample): string {
  return join(ROOT, 'events', sample.event);
}
