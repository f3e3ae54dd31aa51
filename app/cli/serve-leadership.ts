import type { KubeConfig } from '@kubernetes/client-node';
import type { Config } from '../../shared/config.js';
import type { Deps } from '../../shared/deps.js';
import { ConfigError } from '../../shared/errors.js';
import type { Readiness } from '../../shared/health/readiness.js';
import { LeaderElector, defaultIdentity, type LeaderSnapshot } from '../../shared/k8s/leader-election.js';

/**
 * A replica that has not had an answer about the Lease for two lease durations cannot take over
 * from a leader that fails, nor lead: it reports the `leader-election` part down. Not leading is
 * no failure; only not being able to find out is.
 */
const LEASE_UNANSWERED_LEASES = 2;

/** Where the Lease lives when neither SPARKFN_LEASE_NAMESPACE nor the kubeconfig's context names a namespace. */
const FALLBACK_LEASE_NAMESPACE = 'default';

/** The singleton work of one replica: started when it leads, stopped (and awaited) when it stops. */
export type SingletonRunner = (signal: AbortSignal) => Promise<void>;

/** What serve keeps of the leadership: its state for /metrics and doctor, and a stop that releases. */
export interface Leadership {
  /** Undefined when election is off: this replica runs its singletons unconditionally. */
  snapshot(): LeaderSnapshot | undefined;
  /** Stops the singleton work, waits for it, and releases the Lease so that another replica takes over at once. */
  stop(): Promise<void>;
}

/** Whether serve elects a leader: `on`, or `auto` with a cluster configured. `on` without a cluster is a configuration error. */
export function leaderElectionEnabled(config: Pick<Config, 'SPARKFN_LEADER_ELECTION'>, kubeConfig: KubeConfig | undefined): boolean {
  if (config.SPARKFN_LEADER_ELECTION === 'off') return false;
  if (kubeConfig) return true;
  if (config.SPARKFN_LEADER_ELECTION === 'on') {
    throw new ConfigError('Invalid configuration: SPARKFN_LEADER_ELECTION=on needs a cluster to hold the Lease.', [
      { variable: 'SPARKFN_LEADER_ELECTION', message: 'set SPARKFN_K8S_URL or KUBECONFIG, or set SPARKFN_LEADER_ELECTION=off for a single replica' },
    ]);
  }
  return false;
}

/** The Lease's namespace: SPARKFN_LEASE_NAMESPACE, else the kubeconfig context's, else `default` (doctor checks the same). */
export function leaseNamespace(config: Pick<Config, 'SPARKFN_LEASE_NAMESPACE'>, kubeConfig: KubeConfig): string {
  if (config.SPARKFN_LEASE_NAMESPACE) return config.SPARKFN_LEASE_NAMESPACE;
  const context = kubeConfig.getContextObject(kubeConfig.getCurrentContext());
  return context?.namespace || FALLBACK_LEASE_NAMESPACE;
}

/**
 * Runs `singletons` only while this replica holds the Lease (or always, when `kubeConfig` is
 * undefined: election off), and exports `sparkfn_leader{duty}` (1 while this replica runs the
 * duty) and `sparkfn_leader_transitions_total` (changes of leader this replica saw).
 */
export function runUnderLeadership(options: {
  config: Config;
  kubeConfig: KubeConfig | undefined;
  deps: Deps;
  duties: readonly string[];
  singletons: SingletonRunner;
  readiness: Readiness;
}): Leadership {
  const { config, kubeConfig, deps, duties, singletons, readiness } = options;
  const gauge = deps.metrics.gauge('leader', 'Whether this replica runs the singleton duty now (1) or another replica does (0).', ['duty']);
  const transitions = deps.metrics.counter('leader_transitions_total', 'Changes of the Lease holder this replica saw (including its own acquisitions).', ['lease']);
  const setAll = (value: number) => {
    for (const duty of duties) gauge.set({ duty }, value);
  };
  setAll(0);
  if (!kubeConfig) {
    const stopping = new AbortController();
    setAll(1);
    const done = singletons(stopping.signal);
    return {
      snapshot: () => undefined,
      stop: async () => {
        stopping.abort();
        await done;
        setAll(0);
      },
    };
  }
  const part = readiness.component('leader-election');
  const staleMs = LEASE_UNANSWERED_LEASES * config.SPARKFN_LEASE_DURATION_MS;
  const elector = new LeaderElector({
    kubeConfig,
    namespace: leaseNamespace(config, kubeConfig),
    name: config.SPARKFN_LEASE_NAME,
    identity: config.SPARKFN_LEADER_IDENTITY ?? defaultIdentity(),
    leaseDurationMs: config.SPARKFN_LEASE_DURATION_MS,
    renewDeadlineMs: config.SPARKFN_LEASE_RENEW_DEADLINE_MS,
    retryPeriodMs: config.SPARKFN_LEASE_RETRY_PERIOD_MS,
    logger: deps.logger,
    onStartedLeading: (signal) => {
      setAll(1);
      return singletons(signal);
    },
    onStoppedLeading: () => setAll(0),
    // The elector logs each failure; readiness says only that answers stopped coming.
    onAttempt: (answered) => {
      if (answered) part.beat(staleMs, `no answer from the apiserver about the Lease for ${staleMs / 1000} s`);
    },
    onNewLeader: () => transitions.inc({ lease: config.SPARKFN_LEASE_NAME }),
  });
  elector.start();
  return { snapshot: () => elector.snapshot(), stop: () => elector.stop() };
}
