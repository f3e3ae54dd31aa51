import { InvalidInputError } from '../../shared/errors.js';

/** A compressed event log that does not decode: a bad header, a checksum mismatch, a cut-off block. */
export class CorruptEventLogError extends InvalidInputError {
  constructor(message: string) {
    super(message, 'corrupt-event-log');
    this.name = 'CorruptEventLogError';
  }
}
