import type { Logger } from 'pino';
import type { EvictionOutcome, SpotCluster } from './cluster.js';

/** Every cluster change spot-fallback makes goes through these: in dry-run they only log. */
export interface ApplyContext {
  cluster: SpotCluster;
  logger: Logger;
  dryRun: boolean;
}

export async function applyDeletePod(ctx: ApplyContext, namespace: string, name: string, uid: string | undefined, why: string): Promise<'deleted' | 'gone' | 'dry-run'> {
  if (ctx.dryRun) {
    ctx.logger.info({ namespace, pod: name, why }, `dry-run: would delete pod ${namespace}/${name}`);
    return 'dry-run';
  }
  const outcome = await ctx.cluster.deletePod(namespace, name, uid);
  ctx.logger.info({ namespace, pod: name, why, outcome }, `deleted pod ${namespace}/${name}`);
  return outcome;
}

export async function applyEvictPod(ctx: ApplyContext, namespace: string, name: string, why: string): Promise<EvictionOutcome | 'dry-run'> {
  if (ctx.dryRun) {
    ctx.logger.info({ namespace, pod: name, why }, `dry-run: would evict pod ${namespace}/${name}`);
    return 'dry-run';
  }
  const outcome = await ctx.cluster.evictPod(namespace, name);
  ctx.logger.info({ namespace, pod: name, why, outcome }, `evicted pod ${namespace}/${name}`);
  return outcome;
}

export async function applyPodMetadata(
  ctx: ApplyContext,
  namespace: string,
  name: string,
  metadata: { labels?: Record<string, string>; annotations?: Record<string, string> },
): Promise<'patched' | 'dry-run'> {
  if (ctx.dryRun) {
    ctx.logger.info({ namespace, pod: name, metadata }, `dry-run: would label pod ${namespace}/${name}`);
    return 'dry-run';
  }
  await ctx.cluster.patchPodMetadata(namespace, name, metadata);
  return 'patched';
}
