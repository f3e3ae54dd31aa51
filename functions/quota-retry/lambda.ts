import { lambdaHandler } from '../../shared/platform/lambda.js';
import { fn } from './handler.js';
import { quotaRetryDepsFromEnvironment } from './quota-retry-deps.js';

/** AWS Lambda entry point (serverless.yml: `functions/quota-retry/lambda.handler`). */
export const handler = lambdaHandler(fn, quotaRetryDepsFromEnvironment);
