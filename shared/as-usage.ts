import { InvalidInputError, UsageError } from './errors.js';

/**
 * Runs `check` and turns the InvalidInputError it throws into a UsageError (exit 2): for input
 * that comes from the command line itself (a name, an option, the event file), where "invalid
 * input" means the command was used wrongly rather than that the work failed.
 * @example const fn = asUsage(() => findFunction(functions, name));
 */
export function asUsage<T>(check: () => T, prefix = ''): T {
  try {
    return check();
  } catch (err) {
    if (err instanceof InvalidInputError && !(err instanceof UsageError)) throw new UsageError(`${prefix}${err.message}`, err.reason);
    throw err;
  }
}
