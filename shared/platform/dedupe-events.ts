import type { CoreV1Event } from '@kubernetes/client-node';

/**
 * What makes one occurrence of an event: its UID and its count. The apiserver folds repeats of
 * an event into the same object and bumps `count` (or `series.count` for events.k8s.io-style
 * events), so a redelivery (a retried webhook, a relisted watch, the same event through two sinks)
 * repeats the pair, while a new occurrence raises the count.
 */
export function eventOccurrenceKey(event: CoreV1Event): string | undefined {
  const uid = event.metadata?.uid;
  if (!uid) return undefined;
  const count = event.count ?? event.series?.count ?? 1;
  return `${uid}#${count}`;
}

/**
 * Keeps the first of each event UID + count, in arrival order. Events without a UID cannot be
 * matched and are all kept.
 * @example dedupeEvents([a, a, aWithCount2]) // [a, aWithCount2]
 */
export function dedupeEvents(events: readonly CoreV1Event[]): CoreV1Event[] {
  const seen = new Set<string>();
  const out: CoreV1Event[] = [];
  for (const event of events) {
    const key = eventOccurrenceKey(event);
    if (key !== undefined) {
      if (seen.has(key)) continue;
      seen.add(key);
    }
    out.push(event);
  }
  return out;
}
