import { fcHandler } from '../../shared/platform/fc.js';
import { depsFromEnvironment } from '../../shared/platform/runtime.js';
import { fn } from './handler.js';

/** Alibaba Function Compute 3.0 entry point. */
export const handler = fcHandler(fn, depsFromEnvironment);
