import { logLevel, type LogEntry, type logCreator } from 'kafkajs';
import type { Logger } from 'pino';

/**
 * Routes kafkajs' own log lines into our pino logger, one level quieter than kafkajs rates them:
 * kafkajs logs every connection retry and crash at ERROR although it retries by itself, and we
 * report what the caller can act on (unreachable brokers, a consumer that gave up) ourselves.
 * Its INFO lines (group joins, "Starting") become debug, its DEBUG lines trace. `onError` sees
 * every ERROR entry, whatever pino's level.
 *
 * @example new Kafka({ brokers, logLevel: kafkajsLogLevel(logger), logCreator: kafkajsLogCreator(logger) })
 */
export function kafkajsLogCreator(logger: Logger, onError?: (entry: LogEntry) => void): logCreator {
  const child = logger.child({ component: 'kafkajs' });
  return () =>
    (entry: LogEntry) => {
      const { namespace, level, log } = entry;
      const { message, timestamp: _timestamp, logger: _logger, ...extra } = log;
      const fields = { namespace, ...extra };
      switch (level) {
        case logLevel.ERROR:
          onError?.(entry);
          child.warn(fields, message);
          break;
        case logLevel.WARN:
          child.warn(fields, message);
          break;
        case logLevel.INFO:
          child.debug(fields, message);
          break;
        default:
          child.trace(fields, message);
      }
    };
}

/**
 * The kafkajs level that emits what `kafkajsLogCreator` lets through, so that kafkajs does not
 * build entries pino drops; never below ERROR, which `onError` relies on.
 */
export function kafkajsLogLevel(logger: Logger): logLevel {
  if (logger.isLevelEnabled('trace')) return logLevel.DEBUG;
  if (logger.isLevelEnabled('debug')) return logLevel.INFO;
  if (logger.isLevelEnabled('warn')) return logLevel.WARN;
  return logLevel.ERROR;
}
