import { z } from 'zod';

/**
 * `sparkfn logs <appId> -o json`: the app's executors and streams, the same document log-viewer's
 * `GET /logs/<appId>` answers with JSON. Documented in README.md; fields are only ever added.
 */
export const appListingSchema = z.object({
  appId: z.string(),
  executors: z.array(
    z.object({
      executorId: z.string(),
      streams: z.array(
        z.object({
          stream: z.enum(['stdout', 'stderr']),
          path: z.string(),
          storedBytes: z.number().int().nonnegative(),
          compacted: z.boolean(),
          chunks: z.number().int().nonnegative(),
          firstEventTime: z.string().nullable(),
          lastEventTime: z.string().nullable(),
        }),
      ),
    }),
  ),
});
export type AppListingJson = z.infer<typeof appListingSchema>;
