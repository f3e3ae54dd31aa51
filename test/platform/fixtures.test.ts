import { describe, expect, it } from 'vitest';
import { InvalidInputError, UnknownTriggerError } from '../../shared/errors.js';
import { normalizeTrigger } from '../../shared/platform/normalize.js';
import type { TriggerKind } from '../../shared/platform/trigger.js';
import { PLATFORM_EVENT_DIRS, listTriggerEvents, loadEvent } from '../support/events.js';

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any -- fixtures are edited freely below

interface Expectation {
  kind: TriggerKind;
  source: string;
  /** Records or events the payload must yield. */
  count?: number;
  /** Whether the shape is ours (strict: unknown fields refused) or a platform's (tolerant). */
  strict?: boolean;
  /** Where an unknown field is added: the platform shapes must still accept it. */
  extra: (p: Json) => void;
  /** Breaks a required field while the shape stays recognisable. */
  breakIt: (p: Json) => void;
}

const firstRecord = (p: Json) => Object.values(p.records as Record<string, Json[]>)[0]![0];
const restring = (p: Json, index: number, edit: (ce: Json) => void) => {
  const ce = JSON.parse(p[index]);
  edit(ce);
  p[index] = JSON.stringify(ce);
};

/** One row per file in events/: a new sample without a row here fails the suite. */
const EXPECTED: Record<string, Expectation> = {
  'fc/eventbridge-kafka': {
    kind: 'kafka', source: 'acs:alikafka', count: 3,
    extra: (p) => { p[0].aliyunregionid = 'cn-hangzhou'; p[0].data.extra = 1; },
    breakIt: (p) => { delete p[0].data.topic; },
  },
  'fc/eventbridge-kafka-rawdata': {
    kind: 'kafka', source: 'acs:alikafka', count: 3,
    extra: (p) => { p[1].serializedValueSize = 120; },
    breakIt: (p) => { p[0].partition = -1; },
  },
  'fc/eventbridge-kafka-strings': {
    kind: 'kafka', source: 'acs:alikafka', count: 3,
    extra: (p) => restring(p, 0, (ce) => { ce.aliyunpublishtime = '2025-05-14T02:15:02.500Z'; }),
    breakIt: (p) => restring(p, 2, (ce) => { delete ce.data.offset; }),
  },
  'fc/http': {
    kind: 'http', source: 'acs:fc:http',
    extra: (p) => { p.requestContext.http.extra = true; p.cookies = []; },
    breakIt: (p) => { delete p.requestContext.http.method; },
  },
  'fc/timer': {
    kind: 'schedule', source: 'acs:fc:timer',
    extra: (p) => { p.triggerId = 't-1'; },
    breakIt: (p) => { p.triggerTime = 'yesterday'; },
  },
  'k8s/event': {
    kind: 'k8s-events', source: 'k8s:event', count: 1,
    extra: (p) => { p.metadata.managedFields = [{ manager: 'spark-operator' }]; p.series = null; },
    breakIt: (p) => { delete p.metadata.uid; },
  },
  'k8s/event-list': {
    kind: 'k8s-events', source: 'k8s:list', count: 3,
    extra: (p) => { p.metadata.continue = ''; p.items[0].extra = 1; },
    breakIt: (p) => { delete p.items[1].metadata.uid; },
  },
  'k8s/kube-eventer-eventbridge': {
    kind: 'k8s-events', source: 'kube-eventer:eventbridge', count: 1,
    extra: (p) => { p.aliyunpublishtime = '2025-05-14T02:31:42.123Z'; },
    breakIt: (p) => { p.data.involvedObject = 'pod'; },
  },
  'k8s/kube-eventer-kafka': {
    kind: 'k8s-events', source: 'kube-eventer:kafka', count: 1,
    extra: (p) => { p.EventType = 'Warning'; p.EventKind = 'Pod'; },
    breakIt: (p) => { p.EventValue = '{"metadata": {'; },
  },
  'k8s/kube-eventer-webhook': {
    kind: 'k8s-events', source: 'kube-eventer:webhook', count: 1,
    extra: (p) => { p.cluster = 'c8f2e1d3'; p.event.extra = 1; },
    breakIt: (p) => { delete p.event.involvedObject; },
  },
  'k8s/watch-event': {
    kind: 'k8s-events', source: 'k8s:watch', count: 1,
    extra: (p) => { p.object.metadata.labels = {}; },
    breakIt: (p) => { p.object.count = 'one'; },
  },
  'lambda/http-api-v2': {
    kind: 'http', source: 'aws:lambda-url',
    extra: (p) => { p.pathParameters = {}; p.stageVariables = {}; },
    breakIt: (p) => { delete p.requestContext.http; },
  },
  'lambda/msk': {
    kind: 'kafka', source: 'aws:kafka', count: 3,
    extra: (p) => { firstRecord(p).leaderEpoch = 3; },
    breakIt: (p) => { firstRecord(p).value = 'not base64!'; },
  },
  'lambda/schedule': {
    kind: 'schedule', source: 'aws.events',
    extra: (p) => { p.replay = false; },
    breakIt: (p) => { p.time = 'soon'; },
  },
  'lambda/self-managed-kafka': {
    kind: 'kafka', source: 'aws:SelfManagedKafka', count: 3,
    extra: (p) => { p.eventSourceArn = 'arn:aws:kafka:::self'; },
    breakIt: (p) => { firstRecord(p).headers = [{ 'content-type': [300] }]; },
  },
  'local/http': {
    kind: 'http', source: 'local', strict: true,
    extra: (p) => { p.url = 'http://x'; },
    breakIt: (p) => { p.path = 'logs/no-leading-slash'; },
  },
  'local/k8s-events': {
    kind: 'k8s-events', source: 'local', count: 2, strict: true,
    extra: (p) => { p.namespace = 'spark-jobs'; },
    breakIt: (p) => { delete p.events[0].metadata.uid; },
  },
  'local/kafka': {
    kind: 'kafka', source: 'local', count: 3, strict: true,
    extra: (p) => { p.records[1].partitionKey = 'x'; },
    breakIt: (p) => { p.records[0].offset = 'forty-two'; },
  },
  'k8s/pod-watch-event': {
    kind: 'k8s-objects', source: 'k8s:watch', count: 1,
    extra: (p) => { p.object.metadata.managedFields = []; },
    breakIt: (p) => { delete p.object.metadata.name; },
  },
  'local/k8s-objects': {
    kind: 'k8s-objects', source: 'local', count: 1, strict: true,
    extra: (p) => { p.watch = true; },
    breakIt: (p) => { p.changes[0].type = 'UPDATED'; },
  },
  'local/schedule': {
    kind: 'schedule', source: 'local', strict: true,
    extra: (p) => { p.cron = '0 * * * *'; },
    breakIt: (p) => { p.time = 'soon'; },
  },
};

const all = listTriggerEvents();
const names = all.filter((name) => PLATFORM_EVENT_DIRS.has(name.split('/')[0]!));
// A function's own samples (events/<function>/…) are checked by its tests; here only that they are triggers.
const functionSamples = all.filter((name) => !PLATFORM_EVENT_DIRS.has(name.split('/')[0]!));

describe('events/ samples', () => {
  it('has an expectation for every platform sample and a sample for every expectation', () => {
    expect(names).toEqual(Object.keys(EXPECTED).sort());
  });

  if (functionSamples.length > 0) {
    it.each(functionSamples)('%s (a function sample) is a trigger payload we accept', (name) => {
      expect(() => normalizeTrigger(loadEvent(name))).not.toThrow();
    });
  }

  it.each(names)('%s normalizes to its kind and source', (name) => {
    const expected = EXPECTED[name]!;
    const input = normalizeTrigger(loadEvent(name));
    expect(input.kind).toBe(expected.kind);
    expect(input.source).toBe(expected.source);
    if (input.kind === 'kafka') expect(input.records).toHaveLength(expected.count!);
    if (input.kind === 'k8s-events') expect(input.events).toHaveLength(expected.count!);
    if (input.kind === 'k8s-objects') expect(input.changes).toHaveLength(expected.count!);
  });

  it.each(names.filter((n) => !EXPECTED[n]!.strict))('%s (a platform shape) tolerates fields it does not know', (name) => {
    const payload = loadEvent(name);
    EXPECTED[name]!.extra(payload);
    expect(normalizeTrigger(payload).kind).toBe(EXPECTED[name]!.kind);
  });

  it.each(names.filter((n) => EXPECTED[n]!.strict))('%s (our local shape) refuses a field it does not know', (name) => {
    const payload = loadEvent(name);
    EXPECTED[name]!.extra(payload);
    expect(() => normalizeTrigger(payload)).toThrow(/does not match it: .*Unrecognized key/);
  });

  it.each(names)('%s with a required field broken is refused as malformed, naming the shape', (name) => {
    const payload = loadEvent(name);
    EXPECTED[name]!.breakIt(payload);
    let thrown: unknown;
    try {
      normalizeTrigger(payload);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(InvalidInputError);
    expect(thrown).not.toBeInstanceOf(UnknownTriggerError);
    expect((thrown as InvalidInputError).reason).toBe('malformed-trigger');
    expect((thrown as Error).message).toMatch(/^The payload looks like .+ but does not match it: /);
  });
});
