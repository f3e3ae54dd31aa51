import type { Deps } from '../deps.js';
import type { TriggerInput, TriggerKind } from './trigger.js';

/**
 * A function as every host sees it (Lambda, FC, `sparkfn serve`, `sparkfn invoke`): a name,
 * the trigger kinds it accepts, and its platform-neutral core. `functions/<name>/handler.ts`
 * exports one of these as `fn` beside its `run`.
 */
export interface SparkFunction<R = unknown, D extends Deps = Deps> {
  name: string;
  triggers: readonly TriggerKind[];
  /** HTTP routes the function serves under `sparkfn serve` (and its HTTP trigger on FC / Lambda). */
  routes?: readonly FunctionRoute[];
  /** How often `sparkfn serve` fires its schedule trigger, for functions that take one. */
  scheduleEveryMs?: number;
  /** Collections `sparkfn serve` watches for this function (when a cluster is configured); changes arrive as `k8s-objects`. */
  watches?: readonly WatchSpec[];
  run(input: TriggerInput, deps: D): Promise<R>;
}

/** A collection to watch: `/api/v1/pods` with `spark-role=driver`, SparkApplications of a namespace… */
export interface WatchSpec {
  path: string;
  labelSelector?: string;
}

/** One HTTP route of a function. */
export interface FunctionRoute {
  /** An exact path, or a prefix ending in `/` (`/logs/`). */
  path: string;
  methods: readonly string[];
  /** `webhook`: bearer token or HMAC signature required; `public`: none (read-only routes, admission over TLS). */
  auth: 'webhook' | 'public';
}

/** Builds the deps for one invocation (clients are cached by the host; safe to lose). */
export type DepsFactory<D extends Deps = Deps> = (options: { signal?: AbortSignal }) => Promise<D>;
