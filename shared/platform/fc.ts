import type { Deps } from '../deps.js';
import type { DepsFactory, SparkFunction } from './function.js';
import { type AdapterOptions, runInvocation } from './invocation.js';

/**
 * The part of FC's context the adapter uses. FC's context describes the function (`function:
 * { name, handler, memory, timeout }`, timeout in seconds) but, unlike Lambda's, offers no
 * remaining-time call (https://www.alibabacloud.com/help/en/functioncompute/fc-3-0/user-guide/context-1).
 */
export interface FcContextLike {
  requestId?: string;
  function?: { name?: string; timeout?: number };
}

/**
 * Timeout assumed when the FC context carries no `function.timeout`: the 60 s serverless.yml gives
 * every function. Set `timeoutMs` when a function is configured otherwise.
 */
export const DEFAULT_FC_TIMEOUT_MS = 60_000;

export interface FcAdapterOptions extends AdapterOptions {
  /** The function's configured timeout, used when the context does not say. */
  timeoutMs?: number;
}

/** FC 3.0 event handler: `async (event, context)`, the event as a Buffer. */
export type FcHandler = (event: Buffer | string, context: FcContextLike) => Promise<unknown>;

/** FC 2.0 event handler: `(event, context, callback)`. */
export type FcCallbackHandler = (event: Buffer | string, context: FcContextLike, callback: (err: unknown, result?: unknown) => void) => void;

/**
 * FC has no remaining-time call, so the deadline counts the configured timeout from the moment the
 * handler is entered. FC's own clock started a little earlier (request dispatch, a cold start's
 * module loading), which the deadline margin also covers.
 */
function remainingMs(context: FcContextLike, options: FcAdapterOptions): number {
  const timeoutSeconds = context.function?.timeout;
  return typeof timeoutSeconds === 'number' && timeoutSeconds > 0 ? timeoutSeconds * 1000 : (options.timeoutMs ?? DEFAULT_FC_TIMEOUT_MS);
}

/**
 * Wraps a platform-neutral function as an Alibaba Function Compute 3.0 handler. The event Buffer
 * is parsed and normalized (Kafka through EventBridge in all three deliveries, timer, HTTP
 * trigger, Kubernetes events, local); deps get a signal that fires before the function's
 * timeout; an HTTP delivery is answered with `{ statusCode, headers, body, isBase64Encoded }`.
 * Errors propagate, so FC records the invocation as failed and EventBridge retries the batch.
 * @example
 * // functions/log-archiver/fc.ts
 * export const handler = fcHandler(fn, depsFromEnvironment);
 */
export function fcHandler<R, D extends Deps>(fn: SparkFunction<R, D>, makeDeps: DepsFactory<D>, options: FcAdapterOptions = {}): FcHandler {
  return (event, context) => runInvocation(fn, makeDeps, event, remainingMs(context, options), options);
}

/**
 * The same as fcHandler for FC 2.0's callback-style event handlers.
 * @example export const handler = fcCallbackHandler(fn, depsFromEnvironment);
 */
export function fcCallbackHandler<R, D extends Deps>(fn: SparkFunction<R, D>, makeDeps: DepsFactory<D>, options: FcAdapterOptions = {}): FcCallbackHandler {
  const handle = fcHandler(fn, makeDeps, options);
  return (event, context, callback) => {
    handle(event, context).then(
      (result) => callback(null, result),
      (err: unknown) => callback(err),
    );
  };
}
