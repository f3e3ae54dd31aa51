import { z } from 'zod';
import { CLEAN_KINDS } from '../janitor/kinds.js';
import { AGE_BUCKETS, APP_STATES } from './view.js';

const count = z.number().int().nonnegative();
const appRef = { namespace: z.string(), appId: z.string(), appName: z.string() };
const topApp = z.object({ ...appRef, rank: z.number().int().positive(), value: z.number().nonnegative() });

/**
 * `sparkfn monitor -o json`: the monitor's view (view.ts `MonitorView`), the same numbers
 * `/metrics` exports. Documented in functions/spark-monitor/README.md; fields are only ever added.
 */
export const monitorViewSchema = z.object({
  at: z.number().int().positive(),
  apps: z.array(z.object({ namespace: z.string(), state: z.enum(APP_STATES as [string, ...string[]]), count })),
  appsStartedToday: z.array(z.object({ namespace: z.string(), count })),
  requested: z.array(z.object({ namespace: z.string(), cpuCores: z.number().nonnegative(), memoryBytes: z.number().nonnegative() })),
  quotas: z.array(z.object({ namespace: z.string(), quota: z.string(), resource: z.string(), hard: z.number().nullable(), used: z.number().nullable() })),
  pods: z.array(z.object({ namespace: z.string(), role: z.enum(['driver', 'executor']), phase: z.string(), count })),
  executors: z.array(z.object({ zone: z.string(), instanceType: z.string(), capacity: z.enum(['spot', 'on-demand', 'spot-fallback']), count })),
  topByMemoryTime: z.array(topApp),
  topByRuntime: z.array(topApp),
  leftovers: z.array(z.object({ kind: z.enum(CLEAN_KINDS), age: z.enum(AGE_BUCKETS as [string, ...string[]]), count })),
  leftoversFailing: z.array(z.object({ kind: z.enum(CLEAN_KINDS), count })),
  stuck: z.array(
    z.object({ ...appRef, reason: z.enum(['executors-pending', 'executors-failing']), stuckSeconds: z.number().nonnegative(), pendingExecutors: count, failedExecutors: count }),
  ),
  quotaWaiting: z.array(z.object({ namespace: z.string(), waiting: count, blocked: count })),
  blocked: z.array(z.object({ namespace: z.string(), submissionId: z.string(), waitingSeconds: z.number().nonnegative() })),
});
