/**
 * The small typed error hierarchy every module throws. Each sets `name` so that logs and
 * JSON error bodies say what kind of failure it was; messages are whole sentences.
 */
export class SparkfnError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SparkfnError';
  }
}

/** A setting is missing or malformed. `variable` names the environment variable to fix. */
export class ConfigError extends SparkfnError {
  constructor(
    message: string,
    readonly problems: { variable: string; message: string }[] = [],
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Input from outside (an event, a request, a file) that cannot be used; `reason` is short and machine-friendly. */
export class InvalidInputError extends SparkfnError {
  constructor(
    message: string,
    readonly reason: string = 'invalid-input',
  ) {
    super(message);
    this.name = 'InvalidInputError';
  }
}

/** A trigger payload whose shape no adapter recognises. */
export class UnknownTriggerError extends InvalidInputError {
  constructor(message: string) {
    super(message, 'unknown-trigger');
    this.name = 'UnknownTriggerError';
  }
}

/** An object that does not exist in the store. */
export class NotFoundError extends SparkfnError {
  constructor(readonly key: string) {
    super(`No object at key ${JSON.stringify(key)}.`);
    this.name = 'NotFoundError';
  }
}

/** A create-only put (`ifNoneMatch: '*'`) found an object at the key already: another writer won. */
export class PreconditionFailedError extends SparkfnError {
  constructor(readonly key: string) {
    super(`An object is already at key ${JSON.stringify(key)}; the create-only write did not replace it.`);
    this.name = 'PreconditionFailedError';
  }
}

/** A ranged read whose range lies outside the object (HTTP 416). */
export class RangeNotSatisfiableError extends SparkfnError {
  constructor(
    readonly key: string,
    readonly size: number,
  ) {
    super(`The requested range is outside ${JSON.stringify(key)} (size ${size}).`);
    this.name = 'RangeNotSatisfiableError';
  }
}

/** The backend does not implement an operation (s3rver answers 501 to UploadPartCopy). */
export class NotImplementedError extends SparkfnError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NotImplementedError';
  }
}

/** The invocation's deadline passed before the work could finish. */
export class DeadlineError extends SparkfnError {
  constructor(message = 'The invocation deadline passed before the work finished.') {
    super(message);
    this.name = 'DeadlineError';
  }
}

/** A message for any thrown value, for logs and error bodies. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return typeof err === 'string' ? err : JSON.stringify(err);
}

/**
 * A command used wrongly: an unknown function, an option value out of range, an event file that
 * is missing or not JSON. The CLI exits 2 for it, as for a ConfigError; the work never started.
 */
export class UsageError extends InvalidInputError {
  constructor(message: string, reason = 'usage') {
    super(message, reason);
    this.name = 'UsageError';
  }
}
