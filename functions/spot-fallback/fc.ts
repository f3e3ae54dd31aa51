import { fcHandler } from '../../shared/platform/fc.js';
import { depsFromEnvironment } from '../../shared/platform/runtime.js';
import { fn } from './handler.js';

/** Alibaba Function Compute 3.0 entry point (an HTTP trigger for the webhook, an EventBridge trigger for kube-eventer's events). */
export const handler = fcHandler(fn, depsFromEnvironment);
