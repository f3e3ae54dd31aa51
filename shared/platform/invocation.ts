import type { Deps } from '../deps.js';
import { InvalidInputError, UnknownTriggerError } from '../errors.js';
import type { DepsFactory, SparkFunction } from './function.js';
import { startDeadline } from './deadline.js';
import { fitToFunction } from './fit-to-function.js';
import { httpErrorResponse, toHttpTriggerResponse } from './http-response.js';
import { isFcHttp, isLambdaHttp } from './http-event.js';
import { type NormalizeOptions, normalizeTrigger } from './normalize.js';
import { parsePayload } from './payload.js';

/** What an adapter may tune for one deployment. */
export interface AdapterOptions extends NormalizeOptions {
  /** How long before the platform's timeout the deps' signal fires; see DEADLINE_MARGIN_MS. */
  marginMs?: number;
}

/**
 * One invocation as every platform adapter runs it: recognise the payload, start the deadline,
 * build deps carrying its signal, fit the input to the function, run the core, and answer an HTTP
 * delivery with an HTTP response. Errors propagate (the platform then retries a Kafka batch),
 * except a caller's mistake on an HTTP delivery, which becomes a 400.
 */
export async function runInvocation<R, D extends Deps>(
  fn: SparkFunction<R, D>,
  makeDeps: DepsFactory<D>,
  payload: unknown,
  remainingMs: number,
  options: AdapterOptions = {},
): Promise<unknown> {
  let input;
  try {
    input = normalizeTrigger(payload, options);
  } catch (err) {
    // A recognised HTTP event that does not decode (a path that is not valid percent-encoding) is
    // the caller's mistake: answer 400 rather than fail the invocation.
    if (err instanceof InvalidInputError && !(err instanceof UnknownTriggerError) && isHttpEvent(payload)) return httpErrorResponse(err);
    throw err;
  }
  const deadline = startDeadline(remainingMs, options.marginMs);
  try {
    const deps = await makeDeps({ signal: deadline.signal });
    const withSignal: D = deps.signal ? deps : { ...deps, signal: deadline.signal };
    if (input.kind !== 'http') {
      const fitted = fitToFunction(input, fn.triggers, { ...options, functionName: fn.name, onSkip: (m) => withSignal.logger.warn(m) });
      return await fn.run(fitted, withSignal);
    }
    try {
      const fitted = fitToFunction(input, fn.triggers, { ...options, functionName: fn.name });
      return await toHttpTriggerResponse(await fn.run(fitted, withSignal));
    } catch (err) {
      return httpErrorResponse(err);
    }
  } finally {
    deadline.dispose();
  }
}

function isHttpEvent(payload: unknown): boolean {
  const parsed = parsePayload(payload);
  return parsed.ok && (isLambdaHttp(parsed.value) || isFcHttp(parsed.value));
}
