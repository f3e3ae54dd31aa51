import { lambdaHandler } from '../../shared/platform/lambda.js';
import { depsFromEnvironment } from '../../shared/platform/runtime.js';
import { fn } from './handler.js';

/** AWS Lambda entry point (serverless.yml: `functions/spot-fallback/lambda.handler`: the webhook over httpApi, ECI events through EventBridge). */
export const handler = lambdaHandler(fn, depsFromEnvironment);
