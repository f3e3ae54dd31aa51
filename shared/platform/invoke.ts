import type { Deps } from '../deps.js';
import { InvalidInputError } from '../errors.js';
import type { SparkFunction } from './function.js';
import { normalizeTrigger } from './normalize.js';
import type { TriggerInput } from './trigger.js';

/** The functions a host knows, looked up by name with an error that lists them. */
export function findFunction(functions: readonly SparkFunction[], name: string): SparkFunction {
  const fn = functions.find((f) => f.name === name);
  if (!fn) {
    const known = functions.map((f) => f.name).join(', ') || 'none yet';
    throw new InvalidInputError(`Unknown function ${JSON.stringify(name)}; known functions: ${known}.`, 'unknown-function');
  }
  return fn;
}

/** Refuses an input kind the function does not take, naming the kinds it does. */
export function assertAccepts(fn: SparkFunction, input: TriggerInput): void {
  if (!fn.triggers.includes(input.kind)) {
    throw new InvalidInputError(
      `${fn.name} does not take ${input.kind} triggers; it takes ${fn.triggers.join(', ')}.`,
      'wrong-trigger',
    );
  }
}

/**
 * Runs a function once on any payload we accept: the adapter the payload's shape calls for
 * normalizes it, then the core runs. Shared by `sparkfn invoke` and the `/invoke/<name>` route.
 * @example await invokeOnce(fn, JSON.parse(readFileSync('events/fc/timer.json', 'utf8')), deps)
 */
export async function invokeOnce(fn: SparkFunction, payload: unknown, deps: Deps): Promise<unknown> {
  const input = normalizeTrigger(payload);
  assertAccepts(fn, input);
  return fn.run(input, deps);
}
