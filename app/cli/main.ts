import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { loadConfig } from '../../shared/config.js';
import { ConfigError, SparkfnError, UsageError, errorMessage } from '../../shared/errors.js';
import { functions as registered } from '../../functions/index.js';
import { createDeps } from '../../shared/platform/runtime.js';
import { createLogger } from '../../shared/logger.js';
import type { SparkFunction } from '../../shared/platform/function.js';
import { fitToFunction } from '../../shared/platform/fit-to-function.js';
import { isHttpResult } from '../../shared/platform/http-response.js';
import { findFunction } from '../../shared/platform/invoke.js';
import { normalizeTrigger } from '../../shared/platform/normalize.js';
import type { HttpResult } from '../../shared/platform/trigger.js';
import { asUsage } from '../../shared/as-usage.js';
import { invokeOutput } from './invoke-output.js';
import { readEventSource } from './read-event.js';
import { runDemo } from './demo.js';
import { startServe } from './serve.js';
import { SHUTDOWN_GRACE_MS } from '../../shared/http/server.js';
import { setTimeout as delay } from 'node:timers/promises';

/** Where a command writes; tests pass their own. */
export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
  env: NodeJS.ProcessEnv;
  stdin: NodeJS.ReadableStream;
}

const defaultIo: Io = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  env: process.env,
  stdin: process.stdin,
};

/** After a fatal failure and the shutdown, how long `serve` lets the error message be written before it exits anyway. */
const EXIT_FLUSH_MS = 1_000;

function portNumber(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError('a port is a whole number from 0 to 65535.');
  return port;
}

/** `: <the error's message>` from an HTTP result's JSON error body, or nothing. */
function httpErrorMessage(result: HttpResult): string {
  const body = typeof result.body === 'string' || Buffer.isBuffer(result.body) ? result.body.toString() : '';
  try {
    const error = (JSON.parse(body) as { error?: { message?: unknown } | string }).error;
    const message = typeof error === 'string' ? error : error?.message;
    return typeof message === 'string' ? `: ${message.replace(/\.$/, '')}` : '';
  } catch {
    return '';
  }
}

/**
 * Runs the `sparkfn` command line and resolves to its exit code: 0 on success, 1 when the
 * work failed, 2 for a usage or configuration error.
 */
export async function main(argv: string[], io: Io = defaultIo, functions: readonly SparkFunction[] = registered): Promise<number> {
  const program = new Command('sparkfn')
    .description('Serverless functions for the operations side of Spark on Kubernetes.')
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err });

  program
    .command('invoke')
    .description('run one function once on a trigger payload (Lambda, FC, kube-eventer or local shape) and print its JSON result')
    .argument('<function>', `function name (${functions.map((f) => f.name).join(', ') || 'none yet'})`)
    .requiredOption('-e, --event <file|->', 'the trigger payload: a JSON file, or - for standard input')
    .action(async (name: string, options: { event: string }) => {
      const config = loadConfig(io.env);
      const fn = asUsage(() => findFunction(functions, name));
      const raw = await readEventSource(options.event, io.stdin);
      // The result goes to stdout; logs go to stderr so the output stays one JSON document.
      const deps = createDeps(config, { logger: createLogger(config.SPARKFN_LOG_LEVEL, 2) });
      // Everything before the function runs (the payload's shape, the trigger kinds it takes) is about the command line.
      const input = asUsage(() => fitToFunction(normalizeTrigger(raw), fn.triggers, { functionName: fn.name, onSkip: (message) => deps.logger.warn(message) }), `The event ${options.event === '-' ? 'on standard input' : `in ${options.event}`} cannot be used: `);
      const result = await fn.run(input, deps);
      io.out(await invokeOutput(result));
      if (isHttpResult(result) && result.status >= 400) throw new SparkfnError(`${fn.name} answered ${result.status}${httpErrorMessage(result)}.`);
      // A run summary that counts failed work exits 1 (0 done, 1 work failed), with its failure sentences when it has them.
      const { failed, failures } = (result ?? {}) as { failed?: unknown; failures?: unknown };
      if (typeof failed === 'number' && failed > 0) throw new SparkfnError(`${fn.name}: ${failed} failed${Array.isArray(failures) && failures.length > 0 ? `: ${failures.join(' ')}` : '; see the result above'}`);
    });

  program
    .command('serve')
    .description('host every function in one process: HTTP routes, the Kafka consumer, the pod watch and the timers')
    .option('-p, --port <port>', 'port to listen on (default: SPARKFN_PORT, else 8080)', portNumber)
    .option('--host <host>', 'address to listen on (default: SPARKFN_HOST, else 127.0.0.1)')
    .action(async (options: { port?: number; host?: string }) => {
      const config = loadConfig(io.env);
      const running = await startServe({
        config,
        functions,
        port: options.port ?? config.SPARKFN_PORT,
        host: options.host ?? config.SPARKFN_HOST,
      });
      io.err(`sparkfn serve listening on ${running.url}\n`);
      await new Promise<void>((resolve, reject) => {
        const stop = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          running.close().then(resolve, resolve);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
        // A consumer that gave up for good, or a part down past SPARKFN_UNREADY_EXIT_SECONDS, ends the
        // process non-zero so its supervisor restarts it. kafkajs may go on restarting a crashed
        // consumer in the background after stop(), so the end is not left to the event loop draining.
        running.failed.catch((err: unknown) => {
          void Promise.race([running.close(), delay(SHUTDOWN_GRACE_MS, undefined, { ref: false })]).finally(() => {
            reject(err);
            setTimeout(() => process.exit(1), EXIT_FLUSH_MS).unref();
          });
        });
      });
    });

  program
    .command('logs')
    .description("print an executor's archived log from the store, as log-viewer's GET /logs/<appId>/<executorId>/<stream> serves it")
    .argument('<appId>', "Spark's application id (the pods' spark-app-selector label)")
    .argument('<executorId>', 'executor id, or driver')
    .argument('[stream]', 'stdout or stderr (default: stderr, where Spark logs)')
    .option('-n, --tail <lines>', 'only the last N lines (1 to 100000)', (value: string) => {
      if (!/^[1-9]\d{0,5}$/.test(value) || Number(value) > 100_000) throw new InvalidArgumentError('a number of lines from 1 to 100000.');
      return Number(value);
    })
    .action(async (appId: string, executorId: string, stream: string | undefined, options: { tail?: number }) => {
      const config = loadConfig(io.env);
      const { printLog } = await import('../../functions/log-viewer/cli.js');
      const deps = createDeps(config, { logger: createLogger(config.SPARKFN_LOG_LEVEL, 2) });
      await printLog({ appId, executorId, ...(stream !== undefined && { stream }), ...(options.tail !== undefined && { tail: options.tail }) }, deps, io.out);
    });

  program
    .command('cost')
    .description('job-cost records')
    .command('report')
    .description('aggregate the cost records of a period by namespace, team label or day')
    .option('--from <YYYY-MM-DD>', 'first day (default: 30 days before --to)')
    .option('--to <YYYY-MM-DD>', 'last day (default: today, UTC)')
    .option('--by <namespace|day|label:key>', 'grouping', 'namespace')
    .option('--format <table|csv|json|html>', 'output format', 'table')
    .option('--out <file>', 'where --format html writes its page', 'cost-report.html')
    .action(async (options: { from?: string; to?: string; by: string; format: string; out: string }) => {
      const config = loadConfig(io.env);
      const { costReportCommand } = await import('../../functions/job-cost/report-cli.js');
      await costReportCommand(createDeps(config, { logger: createLogger('warn', 2) }).store, options, Date.now(), io.out);
    });

  program
    .command('janitor')
    .description("run janitor once against the configured cluster and print what it deleted (or, with --dry-run, would delete)")
    .option('--dry-run', 'list and audit what would be deleted; delete nothing')
    .option('--namespace <namespace>', 'clean this namespace (repeatable; default: SPARKFN_JANITOR_NAMESPACES, else all)', (value: string, list: string[] = []) => [...list, value])
    .action(async (options: { dryRun?: boolean; namespace?: string[] }) => {
      const config = loadConfig(io.env);
      const { kubeConfigFromConfig } = await import('../../shared/k8s/client.js');
      const { janitorFailure, runJanitorCli } = await import('../../functions/janitor/cli.js');
      const { settingsFromConfig } = await import('../../functions/janitor/settings.js');
      const kubeConfig = await kubeConfigFromConfig(config);
      if (!kubeConfig) throw new ConfigError('Invalid configuration: janitor needs a cluster; set SPARKFN_K8S_URL (with a token) or KUBECONFIG.', [{ variable: 'SPARKFN_K8S_URL', message: 'point it at the apiserver' }]);
      const deps = createDeps(config, { logger: createLogger(config.SPARKFN_LOG_LEVEL === 'info' ? 'warn' : config.SPARKFN_LOG_LEVEL, 2) });
      const report = await runJanitorCli({ ...(options.dryRun ? { dryRun: true } : {}), ...(options.namespace ? { namespaces: options.namespace } : {}) }, { ...deps, kubeConfig }, io.out, settingsFromConfig(config));
      const failure = janitorFailure(report);
      if (failure) throw new SparkfnError(failure);
    });

  program
    .command('monitor')
    .description("print spark-monitor's view of the configured cluster: apps by state, stuck apps, leftovers, spot mix, quota use")
    .option('-o, --output <table|json>', 'output format', 'table')
    .action(async (options: { output: string }) => {
      const { monitorCommand } = await import('../../functions/spark-monitor/cli.js');
      await monitorCommand(loadConfig(io.env), options, io.out);
    });

  program
    .command('doctor')
    .description('check the configuration and reach each configured part (store, Kafka, cluster, FC credentials); print what works and what to fix')
    .option('--deploy', 'FC credentials are needed (about to run deploy fc): fail when they are missing')
    .option('--namespace <namespace>', 'ask can-i in this namespace instead of cluster-wide')
    .option('--timeout <ms>', 'how long each part may take to answer', (value: string) => {
      const ms = Number(value);
      if (!Number.isInteger(ms) || ms < 1) throw new InvalidArgumentError('a timeout is a whole number of milliseconds, at least 1.');
      return ms;
    })
    .action(async (options: { deploy?: boolean; namespace?: string; timeout?: number }) => {
      const { doctorCommand } = await import('./doctor.js');
      await doctorCommand({ env: io.env, ...(options.deploy ? { deploy: true } : {}), ...(options.namespace ? { namespace: options.namespace } : {}), ...(options.timeout ? { timeoutMs: options.timeout } : {}) }, io.out);
    });

  program
    .command('deploy')
    .description('make a platform match serverless.yml')
    .command('fc')
    .description('create or update the FC service, functions (code from the dist/fc bundles) and triggers serverless.yml describes; --dry-run prints the plan')
    .option('--dry-run', 'print the plan as a table; write nothing (without credentials: the whole desired state)')
    .option('--file <path>', 'the serverless.yml to deploy', 'serverless.yml')
    .option('--bundles <dir>', 'where npm run build put the FC bundles, one folder per function', 'dist/fc')
    .action(async (options: { dryRun?: boolean; file: string; bundles: string }) => {
      const config = loadConfig(io.env);
      const { deployFc } = await import('./deploy.js');
      await deployFc(config, io.env, { dryRun: options.dryRun === true, file: options.file, bundleRoot: options.bundles }, io.out);
    });

  program
    .command('demo')
    .description('replay events/ through every function on the embedded filesystem store and print what each did')
    .option('--store <url>', 'store to use (default: SPARKFN_STORE, else file://.sparkfn-data)')
    .action(async (options: { store?: string }) => {
      const config = loadConfig({ ...io.env, ...(options.store ? { SPARKFN_STORE: options.store } : {}) });
      await runDemo({ config, functions, out: io.out });
    });

  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    if (err instanceof ConfigError || err instanceof UsageError) {
      io.err(`sparkfn: ${err.message}\n`);
      return 2;
    }
    io.err(`sparkfn: ${err instanceof SparkfnError ? err.message : `unexpected error: ${errorMessage(err)}`}\n`);
    if (!(err instanceof SparkfnError) && err instanceof Error && err.stack) io.err(err.stack + '\n');
    return 1;
  }
}
