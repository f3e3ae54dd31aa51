import type { SparkFunction } from '../shared/platform/function.js';

/**
 * Every function this package ships, in the order the demo runs them. `serverless.yml`
 * declares each one (a test keeps the two in step).
 */
export const functions: readonly SparkFunction[] = [];
