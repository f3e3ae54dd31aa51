import { lambdaHandler } from '../../shared/platform/lambda.js';
import { depsFromEnvironment } from '../../shared/platform/runtime.js';
import { fn } from './handler.js';

/** AWS Lambda entry point (serverless.yml: `functions/spark-monitor/lambda.handler`). */
export const handler = lambdaHandler(fn, depsFromEnvironment);
