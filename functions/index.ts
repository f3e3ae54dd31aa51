import type { SparkFunction } from '../shared/platform/function.js';
import { fn as logArchiver } from './log-archiver/handler.js';
import { fn as logViewer } from './log-viewer/handler.js';
import { fn as jobCost } from './job-cost/handler.js';
import { fn as spotFallback } from './spot-fallback/handler.js';
import { fn as janitor } from './janitor/handler.js';
import { fn as quotaRetry } from './quota-retry/handler.js';
import { fn as sparkMonitor } from './spark-monitor/handler.js';

/**
 * Every function this package ships, in the order the demo runs them. `serverless.yml`
 * declares each one (a test keeps the two in step).
 */
export const functions: readonly SparkFunction[] = [logArchiver, logViewer, jobCost, spotFallback, janitor, quotaRetry, sparkMonitor];
