/**
 * `sparkfn serve` hosting log-archiver in a child process, for the crash test
 * (test/log-archiver/crash.test.ts): configuration from the environment through loadConfig, as
 * `sparkfn serve` reads it; consumer timings as JSON in argv[2] (ServeOptions.kafkaConsumer).
 * The real function is observed: before and after each Kafka batch it prints, on stdout,
 *   @@ start <partition> <firstOffset> <lastOffset> <records>
 *   @@ done <partition> <firstOffset> <lastOffset> <records>
 * ("done" when archiving resolved, before the consumer commits), and `@@ ready` once serve runs.
 * Writes to a pipe are synchronous on Linux, so a line is out before the step it reports goes on.
 * Logs go to stderr. SIGTERM closes serve (the consumer commits and leaves) and exits 0.
 * Run: node --import tsx test/support/log-archiver-child.ts '{"sessionTimeout":4000}'
 */
import { fn as archiver } from '../../functions/log-archiver/handler.js';
import { startServe } from '../../app/cli/serve.js';
import type { ServeOptions } from '../../app/cli/serve.js';
import { loadConfig } from '../../shared/config.js';
import { createLogger } from '../../shared/logger.js';
import type { SparkFunction } from '../../shared/platform/function.js';
import { createDeps } from '../../shared/platform/runtime.js';

const say = (line: string) => process.stdout.write(`@@ ${line}\n`);
const config = loadConfig();
const kafkaConsumer = JSON.parse(process.argv[2] ?? '{}') as ServeOptions['kafkaConsumer'];
const observed: SparkFunction = {
  ...archiver,
  // No cluster here, and the crash test compacts by itself afterwards.
  watches: [],
  triggers: ['kafka'],
  async run(input, deps) {
    const range = input.kind === 'kafka' && input.records.length > 0 ? `${input.records[0]!.partition} ${input.records[0]!.offset} ${input.records.at(-1)!.offset} ${input.records.length}` : '';
    if (range) say(`start ${range}`);
    const result = await archiver.run(input, deps);
    if (range) say(`done ${range}`);
    return result;
  },
};
const running = await startServe({
  config,
  functions: [observed],
  port: 0,
  host: '127.0.0.1',
  deps: createDeps(config, { logger: createLogger(config.SPARKFN_LOG_LEVEL, 2) }),
  ...(kafkaConsumer ? { kafkaConsumer } : {}),
});
say('ready');
process.once('SIGTERM', () => {
  running.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
running.failed.catch(() => process.exit(3));
