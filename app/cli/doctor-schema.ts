import { z } from 'zod';

/**
 * `sparkfn doctor -o json`: one object per check, as the table's rows, and whether every needed
 * part works (`ok`, the same verdict as the exit code). Documented in README.md; fields are only
 * ever added.
 */
export const doctorReportSchema = z.object({
  ok: z.boolean(),
  rows: z.array(
    z.object({
      part: z.enum(['config', 'store', 'kafka', 'kubernetes', 'fc']),
      check: z.string(),
      result: z.enum(['ok', 'FAIL', 'warn', 'skipped']),
      detail: z.string(),
    }),
  ),
});
export type DoctorReportJson = z.infer<typeof doctorReportSchema>;
