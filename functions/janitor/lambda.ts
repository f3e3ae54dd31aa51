import { lambdaHandler } from '../../shared/platform/lambda.js';
import { janitorDepsFromEnvironment } from './deps.js';
import { fn } from './handler.js';

/** AWS Lambda entry point (serverless.yml: `functions/janitor/lambda.handler`). */
export const handler = lambdaHandler(fn, janitorDepsFromEnvironment);
