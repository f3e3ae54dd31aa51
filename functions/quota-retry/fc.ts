import { fcHandler } from '../../shared/platform/fc.js';
import { fn } from './handler.js';
import { quotaRetryDepsFromEnvironment } from './quota-retry-deps.js';

/** Alibaba Function Compute 3.0 entry point. */
export const handler = fcHandler(fn, quotaRetryDepsFromEnvironment);
