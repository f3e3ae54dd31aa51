import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Integration suites start real servers (s3rver, kcat's mock Kafka, the test apiserver):
    // generous per-test time, but every loop inside a test is bounded by itself.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
