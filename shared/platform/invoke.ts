import type { Deps } from '../deps.js';
import { InvalidInputError } from '../errors.js';
import type { SparkFunction } from './function.js';
import { normalizeTrigger } from './normalize.js';
import { fitToFunction } from './fit-to-function.js';

/** The functions a host knows, looked up by name with an error that lists them. */
export function findFunction(functions: readonly SparkFunction[], name: string): SparkFunction {
  const fn = functions.find((f) => f.name === name);
  if (!fn) {
    const known = functions.map((f) => f.name).join(', ') || 'none yet';
    throw new InvalidInputError(`Unknown function ${JSON.stringify(name)}; known functions: ${known}.`, 'unknown-function');
  }
  return fn;
}

/**
 * Runs the function called `name` once on any payload we accept: the payload's shape is
 * recognised first (so an unknown shape is reported as such, with the shapes we accept), then
 * the function is looked up and its core runs. Shared by `sparkfn invoke` and `POST /invoke/<name>`.
 * @example await invokeByName(functions, 'janitor', readFileSync('events/fc/timer.json'), deps)
 */
export async function invokeByName(functions: readonly SparkFunction[], name: string, payload: unknown, deps: Deps): Promise<unknown> {
  const input = normalizeTrigger(payload);
  const fn = findFunction(functions, name);
  const fitted = fitToFunction(input, fn.triggers, { functionName: fn.name, onSkip: (message) => deps.logger.warn(message) });
  return fn.run(fitted, deps);
}
