import type { SparkFunction } from '../shared/platform/function.js';
import { fn as logArchiver } from './log-archiver/handler.js';
import { fn as logViewer } from './log-viewer/handler.js';

/**
 * Every function this package ships, in the order the demo runs them. `serverless.yml`
 * declares each one (a test keeps the two in step).
 */
export const functions: readonly SparkFunction[] = [logArchiver, logViewer];
