import type { Context } from 'aws-lambda';
import type { Deps } from '../deps.js';
import type { DepsFactory, SparkFunction } from './function.js';
import { type AdapterOptions, runInvocation } from './invocation.js';

/** The part of Lambda's context the adapter uses (the runtime passes the whole Context). */
export type LambdaContextLike = Pick<Context, 'getRemainingTimeInMillis'>;

/** An AWS Lambda handler for any trigger `normalizeTrigger` accepts. */
export type LambdaHandler = (event: unknown, context: LambdaContextLike) => Promise<unknown>;

/**
 * Wraps a platform-neutral function as an AWS Lambda handler. Each invocation normalizes the event
 * (Kafka, EventBridge schedule, HTTP API v2 / function URL, Kubernetes events, local), builds deps
 * whose `signal` fires DEADLINE_MARGIN_MS before `context.getRemainingTimeInMillis()` runs out,
 * and runs the core. An HTTP delivery is answered in payload format 2.0 (bytes as base64); for a
 * Kafka batch, an error thrown by the core propagates so Lambda retries the batch.
 * @example
 * // functions/log-archiver/lambda.ts
 * export const handler = lambdaHandler(fn, depsFromEnvironment);
 */
export function lambdaHandler<R, D extends Deps>(fn: SparkFunction<R, D>, makeDeps: DepsFactory<D>, options: AdapterOptions = {}): LambdaHandler {
  return (event, context) => runInvocation(fn, makeDeps, event, context.getRemainingTimeInMillis(), options);
}
