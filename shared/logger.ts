import { writeSync } from 'node:fs';
import { isatty } from 'node:tty';
import { pino, type DestinationStream, type Logger, type LevelWithSilent } from 'pino';
import { readableLogLine } from './text/log-line.js';

/** Standard error: logs never mix with what a command prints for people or programs on stdout. */
export const STDERR_FD = 2;

/** Writes each JSON line as a readable one (shared/text/log-line.ts), synchronously, to `fd`. */
function readableDestination(fd: number): DestinationStream {
  return { write: (line: string) => void writeSync(fd, readableLogLine(line)) };
}

/**
 * The process logger (pino): JSON lines on standard error, or on `destination` (a file
 * descriptor) when given; readable lines instead of JSON when that descriptor is a terminal,
 * so a person running a command sees sentences and a collector sees JSON.
 */
export function createLogger(level: LevelWithSilent = 'info', destination: number = STDERR_FD): Logger {
  const options = { level, base: { app: 'sparkfn' }, timestamp: pino.stdTimeFunctions.isoTime };
  return pino(options, isatty(destination) ? readableDestination(destination) : pino.destination({ fd: destination, sync: true }));
}

/** A logger that drops everything, for tests that assert on returned summaries instead. */
export const silentLogger: Logger = pino({ level: 'silent' });
