import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Integration suites start real servers (s3rver, kcat's mock Kafka, the test apiserver):
    // generous per-test time, but every loop inside a test is bounded by itself.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Vitest runs one file at a time on a 2-core machine (cores - 1), while most of a file's time
    // is spent waiting on servers it started (s3rver, kcat, serve children): two at once use the
    // idle core. Every test bounds its own loops, so it does not depend on running alone.
    maxWorkers: 2,
  },
});
