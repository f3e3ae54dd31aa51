import { spawn, type ChildProcess } from 'node:child_process';
import { Kafka, logLevel } from 'kafkajs';

/**
 * Partitions of every topic the mock creates by itself (on first produce, subscribe or metadata
 * request). librdkafka 2.0.2 hard-codes this (`mcluster->defaults.partition_cnt = 4`); no
 * `test.mock.*` property changes it (only `test.mock.num.brokers` and `test.mock.broker.rtt`
 * exist), and the mock implements neither CreateTopics nor CreatePartitions.
 */
export const MOCK_DEFAULT_PARTITIONS = 4;

/** kcat prints the bootstrap line within tens of milliseconds; this only guards against a wedged start. */
const START_TIMEOUT_MS = 10_000;
/** kcat exits within ~50 ms of SIGTERM; past this it is killed. */
const STOP_TIMEOUT_MS = 5_000;
/** How much of the host's stderr is kept for error messages (`-d mock` logs every request). */
const LOG_TAIL_CHARS = 16_384;

/**
 * Hosts the same librdkafka mock cluster that kcat runs, through Python's ctypes on kcat's own
 * librdkafka.so.1, so that the harness can call `rd_kafka_mock_topic_create` (exported by the
 * library, not reachable from kcat or the Kafka protocol) and make topics of any partition count.
 * Commands arrive on stdin, one per line; stdin closing (the test process ending) stops it.
 */
const PYTHON_HOST = String.raw`
import ctypes, os, sys
brokers = int(sys.argv[1])
lib = ctypes.CDLL('librdkafka.so.1')
P = ctypes.c_void_p
lib.rd_kafka_conf_new.restype = P
lib.rd_kafka_new.restype = P
lib.rd_kafka_new.argtypes = [ctypes.c_int, P, ctypes.c_char_p, ctypes.c_size_t]
lib.rd_kafka_mock_cluster_new.restype = P
lib.rd_kafka_mock_cluster_new.argtypes = [P, ctypes.c_int]
lib.rd_kafka_mock_cluster_bootstraps.restype = ctypes.c_char_p
lib.rd_kafka_mock_cluster_bootstraps.argtypes = [P]
lib.rd_kafka_mock_topic_create.restype = ctypes.c_int
lib.rd_kafka_mock_topic_create.argtypes = [P, ctypes.c_char_p, ctypes.c_int, ctypes.c_int]
lib.rd_kafka_mock_push_request_errors_array.restype = None
lib.rd_kafka_mock_push_request_errors_array.argtypes = [P, ctypes.c_int16, ctypes.c_size_t, ctypes.POINTER(ctypes.c_int)]
lib.rd_kafka_err2str.restype = ctypes.c_char_p
lib.rd_kafka_err2str.argtypes = [ctypes.c_int]
errstr = ctypes.create_string_buffer(512)
rk = lib.rd_kafka_new(0, lib.rd_kafka_conf_new(), errstr, 512)
if not rk:
    sys.exit('rd_kafka_new failed: ' + errstr.value.decode())
mcluster = lib.rd_kafka_mock_cluster_new(rk, brokers)
if not mcluster:
    sys.exit('rd_kafka_mock_cluster_new failed')
print('bootstrap.servers=' + lib.rd_kafka_mock_cluster_bootstraps(mcluster).decode(), flush=True)
for line in sys.stdin:
    cmd = line.split()
    if len(cmd) == 3 and cmd[0] == 'create':
        err = lib.rd_kafka_mock_topic_create(mcluster, cmd[1].encode(), int(cmd[2]), min(3, brokers))
        print('created ' + cmd[1] if err == 0 else 'error ' + cmd[1] + ' ' + lib.rd_kafka_err2str(err).decode(), flush=True)
    elif len(cmd) >= 3 and cmd[0] == 'errors':
        codes = [int(c) for c in cmd[2:]]
        lib.rd_kafka_mock_push_request_errors_array(mcluster, int(cmd[1]), len(codes), (ctypes.c_int * len(codes))(*codes))
        print('pushed ' + cmd[1], flush=True)
    else:
        print('error ' + line.strip() + ' unknown command', flush=True)
os._exit(0)
`;

export interface MockKafkaOptions {
  /** Mock brokers (default 3); replication factor is min(3, brokers). */
  brokers?: number;
  /**
   * `kcat` (default): the mock as DESIGN.md starts it; topics get 4 partitions.
   * `python3`: the same librdkafka mock hosted through ctypes, which can also create topics
   * with any number of partitions (`createTopic`). Needs python3 next to kcat's librdkafka1.
   */
  host?: 'kcat' | 'python3';
  /** The kcat executable (default `kcat` on PATH). */
  kcatPath?: string;
}

/** A running mock cluster. */
export interface MockKafka {
  /** `host:port` of every mock broker, for kafkajs' `brokers`. */
  brokers: string[];
  /**
   * Creates `topic` with `partitions` partitions. Any count works on the `python3` host; on the
   * `kcat` host only `MOCK_DEFAULT_PARTITIONS` does (the topic is auto-created by a metadata request).
   */
  createTopic(topic: string, partitions: number): Promise<void>;
  /**
   * Makes the next `codes.length` requests with API key `apiKey` (11 JoinGroup, 14 SyncGroup, 12
   * Heartbeat, 8 OffsetCommit…), from any client, fail with these Kafka error codes, in order
   * (librdkafka's `rd_kafka_mock_push_request_errors`). `python3` host only.
   */
  pushRequestErrors(apiKey: number, codes: readonly number[]): Promise<void>;
  /** The host's recent stderr (`-d mock` request log for kcat), for diagnosing a failing test. */
  log(): string;
  /** Stops the host and waits for it to exit; idempotent. */
  stop(): Promise<void>;
}

/** The mock could not be started or could not do what was asked. */
export class MockKafkaError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MockKafkaError';
  }
}

/**
 * Starts librdkafka's mock Kafka cluster in a child process and resolves with its brokers once
 * it listens. kafkajs talks to it over TCP: produce, fetch, consumer groups and offset commits
 * work; topics appear on first use.
 *
 * @example
 * const kafka = await startMockKafka();
 * const client = new Kafka({ brokers: kafka.brokers });
 * // …
 * await kafka.stop();
 */
export async function startMockKafka(options: MockKafkaOptions = {}): Promise<MockKafka> {
  const brokerCount = options.brokers ?? 3;
  const host = options.host ?? 'kcat';
  const child =
    host === 'kcat'
      ? spawn(
          options.kcatPath ?? 'kcat',
          // A consumer (`-C -t _`) keeps kcat, and so the cluster inside it, running until SIGTERM;
          // `-d mock` makes it print `bootstrap.servers=` and log every request it serves.
          ['-X', `test.mock.num.brokers=${brokerCount}`, '-d', 'mock', '-C', '-t', '_', '-b', 'localhost:1'],
          { stdio: ['ignore', 'pipe', 'pipe'] },
        )
      : spawn('python3', ['-c', PYTHON_HOST, String(brokerCount)], { stdio: ['pipe', 'pipe', 'pipe'] });

  let tail = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    tail = (tail + chunk).slice(-LOG_TAIL_CHARS);
  });
  const lines = lineReader(host === 'kcat' ? child.stderr : child.stdout);
  // kcat prints consumed records of topic `_` on stdout; nobody produces there, but never let a pipe fill.
  if (host === 'kcat') child.stdout?.resume();
  // Writing to a python host that died fails with EPIPE; createTopic reports it by its reply timing out.
  child.stdin?.on('error', () => {});

  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  let brokers: string[];
  try {
    brokers = await waitForBootstrap(child, lines, host, options.kcatPath ?? 'kcat', () => tail);
  } catch (err) {
    process.removeListener('exit', killOnExit);
    child.kill('SIGKILL');
    throw err;
  }

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= terminate(child, host).finally(() => process.removeListener('exit', killOnExit));
    return stopping;
  };

  const createTopic = async (topic: string, partitions: number): Promise<void> => {
    if (!/^[A-Za-z0-9._-]{1,249}$/.test(topic)) throw new MockKafkaError(`Invalid topic name ${JSON.stringify(topic)}.`);
    if (host === 'python3') {
      const reply = lines.next(START_TIMEOUT_MS);
      child.stdin?.write(`create ${topic} ${partitions}\n`);
      const answer = await reply;
      if (answer !== `created ${topic}`) throw new MockKafkaError(`The mock did not create ${topic}: ${answer}`);
      return;
    }
    if (partitions !== MOCK_DEFAULT_PARTITIONS) {
      throw new MockKafkaError(
        `The kcat-hosted mock (librdkafka 2.0.2) creates every topic with ${MOCK_DEFAULT_PARTITIONS} partitions and ` +
          `cannot make ${topic} with ${partitions}: start it with startMockKafka({ host: 'python3' }), ` +
          'which hosts the same mock through python3 and can.',
      );
    }
    await autoCreate(brokers, topic);
  };

  const pushRequestErrors = async (apiKey: number, codes: readonly number[]): Promise<void> => {
    if (host !== 'python3') throw new MockKafkaError('Request errors can be pushed only on the python3 host: start it with startMockKafka({ host: \'python3\' }).');
    if (codes.length === 0 || ![apiKey, ...codes].every(Number.isInteger)) throw new MockKafkaError(`Invalid request errors: API key ${apiKey}, codes ${JSON.stringify(codes)}.`);
    const reply = lines.next(START_TIMEOUT_MS);
    child.stdin?.write(`errors ${apiKey} ${codes.join(' ')}\n`);
    const answer = await reply;
    if (answer !== `pushed ${apiKey}`) throw new MockKafkaError(`The mock did not take the request errors: ${answer}`);
  };

  return { brokers, createTopic, pushRequestErrors, log: () => tail, stop };
}

async function waitForBootstrap(
  child: ChildProcess,
  lines: LineReader,
  host: 'kcat' | 'python3',
  kcatPath: string,
  log: () => string,
): Promise<string[]> {
  const failed = new Promise<never>((_, reject) => {
    child.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') return reject(new MockKafkaError(`Could not start ${host}: ${err.message}`));
      reject(
        new MockKafkaError(
          host === 'kcat'
            ? `${kcatPath} was not found: the Kafka tests need Debian's kcat (its librdkafka mock cluster is our Kafka). ` +
                'Run the README test command, `npm test`, which installs it (apt-get update && apt-get install -y kcat).'
            : 'python3 was not found: the python3 mock host needs it (apt-get install -y python3) next to kcat.',
        ),
      );
    });
    child.once('exit', (code, signal) => {
      reject(new MockKafkaError(`${host} exited (${signal ?? `code ${code}`}) before the mock cluster listened. Its stderr:\n${log()}`));
    });
  });
  failed.catch(() => {});
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    const line = await Promise.race([lines.next(deadline - Date.now()), failed]).catch((err: unknown) => {
      if (err instanceof SilenceError) {
        throw new MockKafkaError(`${host} did not report bootstrap.servers within ${START_TIMEOUT_MS} ms. Its stderr:\n${log()}`);
      }
      throw err;
    });
    const match = /bootstrap\.servers=(\S+)/.exec(line);
    if (match?.[1]) return match[1].split(',');
  }
}

async function terminate(child: ChildProcess, host: 'kcat' | 'python3'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // The python host exits when its stdin closes; kcat stops its consumer and exits 0 on SIGTERM.
  if (host === 'python3') child.stdin?.end();
  else child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

/** Makes the mock auto-create `topic` by asking for its metadata, and checks what it made. */
async function autoCreate(brokers: string[], topic: string): Promise<void> {
  const admin = new Kafka({ brokers, clientId: 'kafka-mock', logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
    const partitions = topics[0]?.partitions.length;
    if (partitions !== MOCK_DEFAULT_PARTITIONS) {
      throw new MockKafkaError(`The mock made ${topic} with ${partitions} partitions, not ${MOCK_DEFAULT_PARTITIONS}.`);
    }
  } finally {
    await admin.disconnect();
  }
}

/** The host went quiet while a line was awaited. */
class SilenceError extends MockKafkaError {}

interface LineReader {
  /** The next line not yet taken; rejects after `timeoutMs`. */
  next(timeoutMs: number): Promise<string>;
}

function lineReader(stream: NodeJS.ReadableStream | null): LineReader {
  const queued: string[] = [];
  const waiting: { resolve: (line: string) => void; reject: (err: Error) => void; timer: NodeJS.Timeout }[] = [];
  let partial = '';
  stream?.setEncoding('utf8');
  stream?.on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts) {
      const waiter = waiting.shift();
      if (waiter) {
        clearTimeout(waiter.timer);
        waiter.resolve(line);
      } else {
        queued.push(line);
        // Nobody reads kcat's request log after startup: keep only a little of it.
        if (queued.length > 1_000) queued.shift();
      }
    }
  });
  return {
    next(timeoutMs) {
      const line = queued.shift();
      if (line !== undefined) return Promise.resolve(line);
      return new Promise((resolve, reject) => {
        const waiter = {
          resolve,
          reject,
          timer: setTimeout(() => {
            waiting.splice(waiting.indexOf(waiter), 1);
            reject(new SilenceError(`The mock host printed nothing for ${timeoutMs} ms.`));
          }, Math.max(0, timeoutMs)),
        };
        waiting.push(waiter);
      });
    },
  };
}
