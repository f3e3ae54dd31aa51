import type { CoreV1Event } from '@kubernetes/client-node';
import { InvalidInputError, errorMessage } from '../errors.js';
import { dedupeEvents } from './dedupe-events.js';
import { type NormalizeOptions, normalizeTrigger } from './normalize.js';
import type { TriggerInput, TriggerKind } from './trigger.js';

/**
 * Makes `input` one of the kinds a function takes. A transport can carry another trigger's
 * payload: kube-eventer's webhook arrives as an HTTP request (a function URL, an FC HTTP trigger)
 * and its Kafka sink as Kafka records. For a function that takes `k8s-events` but not that
 * transport, the body or the record values are normalized as Kubernetes events. Anything else
 * that the function does not take is refused, naming the kinds it does.
 *
 * `onSkip` hears about Kafka records that hold no Kubernetes event (logged by the adapter): one
 * bad record must not block its partition.
 * @example const input = fitToFunction(normalizeTrigger(event), fn.triggers, { onSkip: (m) => deps.logger.warn(m) });
 */
export function fitToFunction(
  input: TriggerInput,
  accepted: readonly TriggerKind[],
  options: NormalizeOptions & { functionName?: string; onSkip?: (message: string) => void } = {},
): TriggerInput {
  if (accepted.includes(input.kind)) return input;
  if (accepted.includes('k8s-events')) {
    if (input.kind === 'http') {
      const inner = normalizeTrigger(input.body, options);
      if (inner.kind === 'k8s-events') return { ...inner, source: `${input.source}>${inner.source}` };
    }
    if (input.kind === 'kafka') {
      const events: CoreV1Event[] = [];
      const sources = new Set<string>();
      for (const record of input.records) {
        const at = `${record.topic}-${record.partition}@${record.offset}`;
        if (record.value === null) continue;
        try {
          const inner = normalizeTrigger(record.value, options);
          if (inner.kind !== 'k8s-events') throw new InvalidInputError(`it holds a ${inner.kind} payload`);
          events.push(...inner.events);
          sources.add(inner.source);
        } catch (err) {
          options.onSkip?.(`skipped Kafka record ${at}: it holds no Kubernetes event (${errorMessage(err).split('\n')[0]})`);
        }
      }
      return { kind: 'k8s-events', source: `${input.source}>${[...sources].join('+') || 'none'}`, events: dedupeEvents(events) };
    }
  }
  const name = options.functionName ?? 'This function';
  throw new InvalidInputError(`${name} does not take ${input.kind} triggers (from ${input.source}); it takes ${accepted.join(', ')}.`, 'wrong-trigger');
}
