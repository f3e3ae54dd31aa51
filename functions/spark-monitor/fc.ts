import { fcHandler } from '../../shared/platform/fc.js';
import { depsFromEnvironment } from '../../shared/platform/runtime.js';
import { fn } from './handler.js';

/** Alibaba Function Compute 3.0 entry point (a timer trigger: list snapshot, alerts). */
export const handler = fcHandler(fn, depsFromEnvironment);
