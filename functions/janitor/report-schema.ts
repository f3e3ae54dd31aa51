import { z } from 'zod';

const count = z.number().int().nonnegative();

/** One kind of object of one app: what `sparkfn janitor -o json` says was (or would be) deleted. */
export const kindOutcomeSchema = z.object({
  kind: z.string(),
  method: z.string(),
  deleted: z.array(z.string()),
  kept: z.array(z.string()),
  error: z.string().optional(),
});

/**
 * `sparkfn janitor -o json`: the run's summary (counters) and its audit record (per app and
 * kind, the same document as `audit/janitor/dt=<day>/<runId>.json`). Documented in README.md;
 * fields are only ever added.
 */
export const janitorReportSchema = z.object({
  summary: z.object({
    runId: z.string(),
    dryRun: z.boolean(),
    auditKey: z.string().optional(),
    apps: count,
    running: count,
    finished: count,
    orphaned: count,
    optedOut: count,
    invalid: count,
    due: count,
    cleaned: count,
    failed: count,
    deferred: count,
    deleted: count,
    deletedByKind: z.record(z.string(), count),
    calls: count,
    fallbacks: z.array(z.string()),
    stoppedEarly: z.boolean(),
    errors: count,
    alreadyGone: count,
    auditsCompleted: count,
  }),
  audit: z.object({
    runId: z.string(),
    startedAt: z.string(),
    finishedAt: z.string(),
    dryRun: z.boolean(),
    namespaces: z.object({ include: z.array(z.string()), exclude: z.array(z.string()) }),
    apps: z.array(
      z.object({
        namespace: z.string(),
        appId: z.string(),
        state: z.enum(['finished', 'orphaned']),
        finishedAt: z.string().optional(),
        ttl: z.string().optional(),
        ttlSource: z.string().optional(),
        kinds: z.array(kindOutcomeSchema),
        deleted: count,
        error: z.string().optional(),
      }),
    ),
    skipped: z.array(z.object({ what: z.string(), reason: z.string() })),
    errors: z.array(z.string()),
    fallbacks: z.record(z.string(), z.string()),
    counts: z.record(z.string(), z.number()),
    completedBy: z.string().optional(),
  }),
});
export type JanitorReportJson = z.infer<typeof janitorReportSchema>;
