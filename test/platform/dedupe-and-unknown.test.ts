import type { CoreV1Event } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { InvalidInputError, UnknownTriggerError } from '../../shared/errors.js';
import { dedupeEvents, eventOccurrenceKey } from '../../shared/platform/dedupe-events.js';
import { ACCEPTED_TRIGGER_SHAPES, normalizeTrigger } from '../../shared/platform/normalize.js';
import type { K8sEventsInput } from '../../shared/platform/trigger.js';
import { loadEvent } from '../support/events.js';

type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any -- fixtures are edited freely below

const event = (uid: string | undefined, count?: number, extra: Partial<CoreV1Event> = {}): CoreV1Event => ({
  metadata: uid ? { uid } : {},
  involvedObject: { kind: 'Pod', name: 'p' },
  ...(count !== undefined ? { count } : {}),
  ...extra,
});

describe('dedupeEvents', () => {
  it('keeps the first of each uid + count, in arrival order', () => {
    const a1 = event('a', 1);
    const a1again = event('a', 1, { message: 'redelivered' });
    const a2 = event('a', 2);
    const b1 = event('b', 1);
    expect(dedupeEvents([a1, b1, a1again, a2])).toEqual([a1, b1, a2]);
  });

  it('counts series.count when count is absent, and treats no count as 1', () => {
    expect(eventOccurrenceKey(event('s', undefined, { series: { count: 4 } }))).toBe('s#4');
    expect(eventOccurrenceKey(event('n'))).toBe('n#1');
    expect(dedupeEvents([event('n'), event('n', 1)])).toHaveLength(1);
  });

  it('keeps every event without a uid (nothing to match on)', () => {
    expect(dedupeEvents([event(undefined, 1), event(undefined, 1)])).toHaveLength(2);
  });

  it('drops a relisted event in an EventList but keeps its repeat with a higher count', () => {
    const { events } = normalizeTrigger(loadEvent('k8s/event-list')) as K8sEventsInput;
    expect(events.map((e) => `${e.reason}#${e.count}`)).toEqual(['Killing#1', 'Killing#2', 'SparkApplicationCompleted#1']);
  });

  it('deduplicates the same event arriving through different sinks in one array', () => {
    const raw = loadEvent('k8s/kube-eventer-kafka') as Json;
    const same = JSON.parse(raw.EventValue);
    const input = normalizeTrigger([raw, { type: 'MODIFIED', object: same }, same, loadEvent('k8s/event')]) as K8sEventsInput;
    expect(input.events.map((e) => e.reason)).toEqual(['SpotToBeReleased', 'SparkApplicationCompleted']);
    expect(input.source).toBe('kube-eventer:kafka+k8s:watch+k8s:event');
  });

  it('deduplicates the events of a local input', () => {
    const local = loadEvent('local/k8s-events') as Json;
    local.events.push(structuredClone(local.events[0]));
    expect((normalizeTrigger(local) as K8sEventsInput).events).toHaveLength(2);
  });
});

describe('unknown and unusable payloads', () => {
  const expectUnknown = (payload: unknown, first: RegExp) => {
    let thrown: unknown;
    try {
      normalizeTrigger(payload);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(UnknownTriggerError);
    const message = (thrown as Error).message;
    expect(message).toMatch(first);
    for (const shape of ACCEPTED_TRIGGER_SHAPES) expect(message).toContain(shape);
    return message;
  };

  it('lists every accepted shape when no shape matches, naming the keys it saw but no values', () => {
    const message = expectUnknown({ Records: [{ eventSource: 'aws:sqs', body: 'secret-value' }] }, /keys "Records"/);
    expect(message).not.toContain('secret-value');
    expect(ACCEPTED_TRIGGER_SHAPES.length).toBeGreaterThanOrEqual(14);
  });

  it('says so when a Buffer is not JSON', () => {
    expectUnknown(Buffer.from('hello from a test invoke'), /the payload is not JSON/);
  });

  it('names the array element that matches no shape', () => {
    expectUnknown([loadEvent('k8s/event'), { hello: 1 }], /element 1 of the payload array/);
  });

  it('refuses kube-eventer’s default webhook body, which carries no event uid', () => {
    expectUnknown({ EventType: 'Warning', EventKind: 'Pod', EventReason: 'SpotToBeReleased', EventTime: '2025-05-14 02:24:05 +0000 UTC', EventMessage: 'Spot ECI will be released' }, /EventType/);
  });

  it('refuses an empty array: nothing to process', () => {
    expect(() => normalizeTrigger([])).toThrow(expect.objectContaining({ reason: 'empty-trigger' }));
  });

  it('refuses an array that mixes Kafka messages and Kubernetes events', () => {
    const mixed = [(loadEvent('fc/eventbridge-kafka') as Json[])[0], loadEvent('k8s/event')];
    expect(() => normalizeTrigger(mixed)).toThrow(expect.objectContaining({ reason: 'mixed-trigger' }));
    expect(() => normalizeTrigger(mixed)).toThrow(InvalidInputError);
  });
});
