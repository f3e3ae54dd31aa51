import type { Metrics } from '../../shared/metrics.js';
import type { BreakerState } from './spot-breaker.js';

const STATE_VALUE: Record<BreakerState, number> = { closed: 0, 'half-open': 1, open: 2 };

/** spot-fallback's metrics (all prefixed `sparkfn_`). */
export function spotMetrics(metrics: Metrics) {
  const breaker = metrics.gauge('spot_breaker_state', 'Spot breaker per location and spec: 0 closed, 1 half-open, 2 open.', ['location', 'spec']);
  return {
    breaker: (location: string, spec: string, state: BreakerState) => breaker.set({ location, spec }, STATE_VALUE[state]),
    signals: metrics.counter('spot_signals_total', 'ECI stock-out and reclaim signals recorded, by reason (a redelivered event counts again).', ['reason']),
    fallbacks: metrics.counter('spot_admission_decisions_total', 'Executor pods routed by the admission webhook, by action (spot, reorder, probe, on-demand, none).', ['action']),
    recycles: metrics.counter('spot_recycles_total', 'Pending executor pods deleted after a stock-out (or that would be, in dry-run).'),
    reclaims: metrics.counter('spot_reclaims_total', 'Spot reclaim signals recorded, by zone (a redelivered event counts again; the app count in the store does not).', ['zone']),
    evictions: metrics.counter('spot_evictions_total', 'Evictions asked for on a reclaim notice, by outcome.', ['outcome']),
    latency: metrics.histogram('spot_admission_duration_seconds', 'Time to answer an AdmissionReview.', [], [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]),
    failOpen: metrics.counter('spot_admission_fail_open_total', 'AdmissionReviews answered allowed and unchanged because deciding failed or took too long.', ['reason']),
  };
}

export type SpotMetrics = ReturnType<typeof spotMetrics>;
