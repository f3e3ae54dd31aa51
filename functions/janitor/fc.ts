import { fcHandler } from '../../shared/platform/fc.js';
import { janitorDepsFromEnvironment } from './deps.js';
import { fn } from './handler.js';

/** Alibaba Function Compute 3.0 entry point. */
export const handler = fcHandler(fn, janitorDepsFromEnvironment);
