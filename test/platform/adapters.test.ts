import { Readable, Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../shared/clock.js';
import type { Deps } from '../../shared/deps.js';
import { DeadlineError, InvalidInputError } from '../../shared/errors.js';
import { Metrics } from '../../shared/metrics.js';
import { fcCallbackHandler, fcHandler } from '../../shared/platform/fc.js';
import type { DepsFactory, SparkFunction } from '../../shared/platform/function.js';
import type { HttpTriggerResponse } from '../../shared/platform/http-response.js';
import { lambdaHandler } from '../../shared/platform/lambda.js';
import type { HttpResult, TriggerInput, TriggerKind } from '../../shared/platform/trigger.js';
import type { ObjectStore } from '../../shared/store/object-store.js';
import { loadEvent, loadEventBytes } from '../support/events.js';

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any -- fixtures are edited freely below

/** What the test function saw, so tests can assert on the input the adapter built. */
interface Seen {
  input?: TriggerInput;
  signal?: AbortSignal;
}

/** A tiny function that echoes counts, answers HTTP by `?as=`, and fails on request. */
function echoFunction(triggers: readonly TriggerKind[], seen: Seen = {}): SparkFunction {
  return {
    name: 'echo',
    triggers,
    async run(input, deps): Promise<unknown> {
      seen.input = input;
      seen.signal = deps.signal;
      switch (input.kind) {
        case 'kafka':
          if (input.records.some((r) => r.value?.toString().includes('"boom"'))) throw new Error('the store is down');
          return { kind: input.kind, source: input.source, records: input.records.length };
        case 'k8s-events':
          return { kind: input.kind, source: input.source, events: input.events.length, reasons: input.events.map((e) => e.reason) };
        case 'schedule':
          return { kind: input.kind, time: input.time };
        case 'http': {
          const bytes = Buffer.from([0x1f, 0x8b, 0x00, 0xff]);
          const answers: Record<string, () => HttpResult> = {
            text: () => ({ status: 200, headers: { 'content-type': 'text/plain' }, body: 'hello' }),
            binary: () => ({ status: 206, headers: { 'content-type': 'application/gzip' }, body: bytes }),
            stream: () => ({ status: 200, body: Readable.from([Buffer.from('log line 1\n'), Buffer.from('log line 2\n')]) }),
            empty: () => ({ status: 204 }),
          };
          const as = input.query.as ?? 'text';
          if (as === 'invalid') throw new InvalidInputError('The executor id "../x" is not a safe key segment.', 'unsafe-id');
          if (as === 'boom') throw new Error('the store is down');
          return answers[as]!();
        }
      }
    },
  };
}

/** An ObjectStore the adapters must never touch: any use fails the test. */
const untouchedStore = new Proxy({} as ObjectStore, {
  get: (_, prop) => {
    throw new Error(`the adapter touched the store (${String(prop)})`);
  },
});

function depsFactory(lines: string[] = []): DepsFactory & { signals: AbortSignal[] } {
  const signals: AbortSignal[] = [];
  const sink = new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) });
  const factory = async ({ signal }: { signal?: AbortSignal }): Promise<Deps> => {
    if (signal) signals.push(signal);
    return { store: untouchedStore, clock: new ManualClock(), logger: pino({ level: 'warn' }, sink), metrics: new Metrics() };
  };
  return Object.assign(factory, { signals });
}

const lambdaContext = (remainingMs = 60_000) => ({ getRemainingTimeInMillis: () => remainingMs });
const fcContext = (timeoutSeconds?: number) => ({ requestId: 'req-1', ...(timeoutSeconds !== undefined ? { function: { name: 'echo', timeout: timeoutSeconds } } : {}) });

const ALL: TriggerKind[] = ['kafka', 'schedule', 'http', 'k8s-events'];

describe('lambdaHandler', () => {
  it('runs the core on a decoded Kafka batch and returns its result', async () => {
    const handler = lambdaHandler(echoFunction(ALL), depsFactory());
    expect(await handler(loadEvent('lambda/self-managed-kafka'), lambdaContext())).toEqual({ kind: 'kafka', source: 'aws:SelfManagedKafka', records: 3 });
  });

  it('throws when the core throws, so Lambda retries the batch', async () => {
    const event = loadEvent('lambda/msk') as Json;
    event.records['spark-logs-2'][0].value = Buffer.from('{"message":"boom"}').toString('base64');
    await expect(lambdaHandler(echoFunction(ALL), depsFactory())(event, lambdaContext())).rejects.toThrow('the store is down');
  });

  it('hands the core a signal that fires before the remaining time runs out', async () => {
    const seen: Seen = {};
    const fn: SparkFunction = {
      name: 'waits-for-deadline',
      triggers: ['schedule'],
      async run(_input, deps) {
        seen.signal = deps.signal;
        const started = performance.now();
        await new Promise((resolve) => deps.signal!.addEventListener('abort', resolve, { once: true }));
        return performance.now() - started;
      },
    };
    const factory = depsFactory();
    const elapsed = (await lambdaHandler(fn, factory)(loadEvent('lambda/schedule'), lambdaContext(200))) as number;
    expect(elapsed).toBeLessThan(200);
    expect(elapsed).toBeGreaterThanOrEqual(100);
    expect(seen.signal!.reason).toBeInstanceOf(DeadlineError);
    expect(factory.signals).toEqual([seen.signal]);
  });

  it('answers an HTTP request with the text body as is', async () => {
    const response = (await lambdaHandler(echoFunction(ALL), depsFactory())(loadEvent('lambda/http-api-v2'), lambdaContext())) as HttpTriggerResponse;
    expect(response).toEqual({ statusCode: 200, headers: { 'content-type': 'text/plain' }, body: 'hello', isBase64Encoded: false });
  });

  it.each([
    ['binary', 206, Buffer.from([0x1f, 0x8b, 0x00, 0xff])],
    ['stream', 200, Buffer.from('log line 1\nlog line 2\n')],
  ])('answers an HTTP request whose body is %s with base64', async (as, status, bytes) => {
    const event = loadEvent('lambda/http-api-v2') as Json;
    event.rawQueryString = `as=${as}`;
    const response = (await lambdaHandler(echoFunction(ALL), depsFactory())(event, lambdaContext())) as HttpTriggerResponse;
    expect(response.statusCode).toBe(status);
    expect(response.isBase64Encoded).toBe(true);
    expect(Buffer.from(response.body, 'base64')).toEqual(bytes);
  });

  it('answers a caller’s mistake with 400 and a JSON error, and rethrows anything else', async () => {
    const event = loadEvent('lambda/http-api-v2') as Json;
    event.rawQueryString = 'as=invalid';
    const handler = lambdaHandler(echoFunction(ALL), depsFactory());
    const response = (await handler(event, lambdaContext())) as HttpTriggerResponse;
    expect(response.statusCode).toBe(400);
    expect(JSON.parse(response.body)).toMatchObject({ error: 'InvalidInputError', reason: 'unsafe-id' });
    event.rawQueryString = 'as=boom';
    await expect(handler(event, lambdaContext())).rejects.toThrow('the store is down');
  });

  it('answers 400 to a request whose path is not valid percent-encoding', async () => {
    const event = loadEvent('lambda/http-api-v2') as Json;
    event.rawPath = '/logs/%E0%A4%A';
    const response = (await lambdaHandler(echoFunction(ALL), depsFactory())(event, lambdaContext())) as HttpTriggerResponse;
    expect(response.statusCode).toBe(400);
    expect(JSON.parse(response.body).message).toMatch(/not valid percent-encoding/);
  });

  it('refuses a trigger kind the function does not take', async () => {
    const handler = lambdaHandler(echoFunction(['schedule']), depsFactory());
    await expect(handler(loadEvent('lambda/msk'), lambdaContext())).rejects.toThrow(/echo does not take kafka triggers .* it takes schedule/);
  });

  it('feeds kube-eventer webhook bodies posted to a function URL to a function that takes Kubernetes events', async () => {
    const event = loadEvent('lambda/http-api-v2') as Json;
    event.requestContext.http.method = 'POST';
    event.body = loadEventBytes('k8s/kube-eventer-webhook').toString('base64');
    event.isBase64Encoded = true;
    const response = (await lambdaHandler(echoFunction(['k8s-events']), depsFactory())(event, lambdaContext())) as HttpTriggerResponse;
    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body)).toEqual({ kind: 'k8s-events', source: 'aws:lambda-url>kube-eventer:webhook', events: 1, reasons: ['SpotToBeReleased'] });
  });

  it('reads kube-eventer Kafka sink messages out of Kafka records, skipping and logging a record that holds none', async () => {
    const sinkMessage = loadEventBytes('k8s/kube-eventer-kafka').toString('base64');
    const event = loadEvent('lambda/msk') as Json;
    const [first, second] = event.records['spark-logs-0'];
    first.value = sinkMessage;
    second.value = sinkMessage; // the same event delivered twice
    event.records['spark-logs-2'][0].value = Buffer.from('not an event').toString('base64');
    const lines: string[] = [];
    const result = await lambdaHandler(echoFunction(['k8s-events']), depsFactory(lines))(event, lambdaContext());
    expect(result).toEqual({ kind: 'k8s-events', source: 'aws:kafka>kube-eventer:kafka', events: 1, reasons: ['SpotToBeReleased'] });
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!).msg).toMatch(/^skipped Kafka record spark-logs-2@977: it holds no Kubernetes event/);
  });
});

describe('fcHandler', () => {
  it('parses the event Buffer of an EventBridge Kafka delivery', async () => {
    const result = await fcHandler(echoFunction(ALL), depsFactory())(loadEventBytes('fc/eventbridge-kafka-strings'), fcContext(60));
    expect(result).toEqual({ kind: 'kafka', source: 'acs:alikafka', records: 3 });
  });

  it('answers the FC HTTP trigger with statusCode, headers, base64 body', async () => {
    const event = loadEvent('fc/http') as Json;
    event.queryParameters.as = 'binary';
    const response = (await fcHandler(echoFunction(ALL), depsFactory())(Buffer.from(JSON.stringify(event)), fcContext(60))) as HttpTriggerResponse;
    expect(response).toEqual({ statusCode: 206, headers: { 'content-type': 'application/gzip' }, body: Buffer.from([0x1f, 0x8b, 0x00, 0xff]).toString('base64'), isBase64Encoded: true });
  });

  it('answers 204 with an empty body', async () => {
    const event = loadEvent('fc/http') as Json;
    event.queryParameters.as = 'empty';
    const response = (await fcHandler(echoFunction(ALL), depsFactory())(Buffer.from(JSON.stringify(event)), fcContext(60))) as HttpTriggerResponse;
    expect(response).toEqual({ statusCode: 204, headers: {}, body: '', isBase64Encoded: false });
  });

  it('counts the deadline from the configured function timeout, FC having no remaining-time call', async () => {
    const seen: Seen = {};
    const fn: SparkFunction = {
      name: 'waits-for-deadline',
      triggers: ['schedule'],
      run: async (_input, deps) => {
        seen.signal = deps.signal;
        await new Promise((resolve) => deps.signal!.addEventListener('abort', resolve, { once: true }));
        return 'aborted';
      },
    };
    const timed = async (run: () => Promise<unknown>) => {
      const started = performance.now();
      await run();
      return performance.now() - started;
    };
    const fromContext = await timed(() => fcHandler(fn, depsFactory())(loadEventBytes('fc/timer'), fcContext(0.2)));
    expect(fromContext).toBeLessThan(200);
    expect(seen.signal!.reason).toBeInstanceOf(DeadlineError);
    const fromOption = await timed(() => fcHandler(fn, depsFactory(), { timeoutMs: 400 })(loadEventBytes('fc/timer'), fcContext()));
    expect(fromOption).toBeGreaterThanOrEqual(300);
    expect(fromOption).toBeLessThan(400);
  });

  it('rejects when the core throws, so EventBridge retries the batch', async () => {
    const event = loadEvent('fc/eventbridge-kafka') as Json;
    event[1].data.value = '{"message":"boom"}';
    await expect(fcHandler(echoFunction(ALL), depsFactory())(Buffer.from(JSON.stringify(event)), fcContext(60))).rejects.toThrow('the store is down');
  });
});

describe('fcCallbackHandler (FC 2.0)', () => {
  const call = (handler: ReturnType<typeof fcCallbackHandler>, event: Buffer) =>
    new Promise<{ err: unknown; result: unknown }>((resolve) => handler(event, fcContext(60), (err, result) => resolve({ err, result })));

  it('calls back with the result', async () => {
    const { err, result } = await call(fcCallbackHandler(echoFunction(ALL), depsFactory()), loadEventBytes('fc/timer'));
    expect(err).toBeNull();
    expect(result).toEqual({ kind: 'schedule', time: Date.UTC(2025, 4, 14, 3) });
  });

  it('calls back with the error when the core throws or the payload is unknown', async () => {
    const event = loadEvent('fc/eventbridge-kafka-rawdata') as Json;
    event[0].value = '{"message":"boom"}';
    const failed = await call(fcCallbackHandler(echoFunction(ALL), depsFactory()), Buffer.from(JSON.stringify(event)));
    expect((failed.err as Error).message).toBe('the store is down');
    const unknown = await call(fcCallbackHandler(echoFunction(ALL), depsFactory()), Buffer.from('{"hello":"fc"}'));
    expect((unknown.err as Error).name).toBe('UnknownTriggerError');
  });
});
