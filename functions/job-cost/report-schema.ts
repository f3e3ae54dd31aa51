import { z } from 'zod';

const amount = z.number();
const count = z.number().int().nonnegative();

/**
 * `sparkfn cost report -o json`: the period, the grouping, one row per group (money with spot at
 * its upper bound in `total`, at its estimate in `expected`), the per-day totals behind the
 * chart, and the problems found. Documented in README.md; fields are only ever added.
 */
export const costReportSchema = z.object({
  from: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  to: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  by: z.string(),
  currency: z.string().nullable(),
  rows: z.array(
    z.object({
      group: z.string(),
      apps: count,
      vcpuSeconds: amount,
      gibSeconds: amount,
      total: amount,
      expected: amount,
      onDemand: amount,
      spot: amount,
      withErrors: count,
      incomplete: count,
    }),
  ),
  daily: z.array(z.object({ day: z.string(), group: z.string(), total: amount })),
  problems: z.array(z.string()),
});
export type CostReportJson = z.infer<typeof costReportSchema>;
