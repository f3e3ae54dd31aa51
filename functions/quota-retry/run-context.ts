import { randomUUID } from 'node:crypto';
import type { KubeClients } from '../../shared/k8s/client.js';
import { seams, type QuotaRetryDeps } from './quota-retry-deps.js';
import { applier, type Applier } from './kube-objects.js';
import { quotaMetrics } from './quota-metrics.js';
import type { QuotaRetrySettings } from './settings.js';
import { emptySummary, type QuotaRetrySummary } from './summary.js';

/** Everything one invocation's steps share. */
export interface RunContext {
  deps: QuotaRetryDeps;
  settings: QuotaRetrySettings;
  /** This invocation's id: the mark on what it creates (CREATED_BY_ANNOTATION). */
  runId: string;
  summary: QuotaRetrySummary;
  metrics: ReturnType<typeof quotaMetrics>;
  random: () => number;
  sleep: (ms: number, signal?: AbortSignal) => Promise<boolean>;
}

/** A context whose deps have a cluster, for the steps that talk to it. */
export interface ClusterContext extends RunContext {
  cluster: KubeClients;
  apply: Applier;
}

export function runContext(deps: QuotaRetryDeps, settings: QuotaRetrySettings, trigger: QuotaRetrySummary['trigger']): RunContext {
  return { deps, settings, runId: randomUUID(), summary: emptySummary(trigger, settings.dryRun), metrics: quotaMetrics(deps.metrics), ...seams(deps) };
}

/** The context with cluster access, or undefined when no cluster is configured. */
export function clusterContext(ctx: RunContext): ClusterContext | undefined {
  const cluster = ctx.deps.cluster;
  return cluster ? { ...ctx, cluster, apply: applier(cluster, ctx.deps.logger, ctx.settings.dryRun) } : undefined;
}
