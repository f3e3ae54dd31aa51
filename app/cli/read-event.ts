import { readFile } from 'node:fs/promises';
import { UsageError, errorMessage } from '../../shared/errors.js';
import { streamToBuffer } from '../../shared/store/read.js';

/** Reads a trigger payload from a file, or from standard input when `source` is `-`; UsageError (exit 2) when it cannot. */
export async function readEventSource(source: string, stdin: NodeJS.ReadableStream = process.stdin): Promise<Buffer> {
  try {
    return source === '-' ? await streamToBuffer(stdin as never) : await readFile(source);
  } catch (err) {
    throw new UsageError(`Cannot read the event from ${source === '-' ? 'standard input' : source}: ${errorMessage(err)}.`, 'unreadable-event');
  }
}
