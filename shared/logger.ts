import { pino, type Logger, type LevelWithSilent } from 'pino';

/** JSON-lines logger (pino) to stdout, or to `destination` (a file descriptor) when given. */
export function createLogger(level: LevelWithSilent = 'info', destination?: number): Logger {
  return pino(
    { level, base: { app: 'sparkfn' }, timestamp: pino.stdTimeFunctions.isoTime },
    pino.destination({ fd: destination ?? 1, sync: true }),
  );
}

/** A logger that drops everything, for tests that assert on returned summaries instead. */
export const silentLogger: Logger = pino({ level: 'silent' });
