/**
 * Which watches `sparkfn serve` opens: one per watched path (a shared informer), fanned out to
 * every function that asked for that path, each seeing only the objects its own selector picks.
 */
import type { WatchEvent } from '../../shared/k8s/watch.js';
import { commonSelector, matchesLabels, parseLabelSelector, type LabelRequirement } from '../../shared/k8s/label-selector.js';
import type { SparkFunction } from '../../shared/platform/function.js';

/** A function fed by a shared watch; `filter` undefined when the server-side selector is exactly its own. */
export interface WatchConsumer {
  fn: SparkFunction;
  filter?: readonly LabelRequirement[];
}

/** One watch to open and who it feeds. */
export interface PlannedWatch {
  path: string;
  /** Server-side selector: the one every consumer shares, or what all their selectors imply. */
  labelSelector?: string;
  consumers: WatchConsumer[];
}

/**
 * Groups the functions' watch specs by path. When every consumer of a path asks with the same
 * selector the apiserver applies it; otherwise the watch asks for the requirements they all
 * imply (`spark-role=driver` and `spark-role=executor` imply `spark-role`) and each consumer
 * filters. A selector this module cannot parse keeps a watch of its own, as before.
 */
export function planWatches(functions: readonly SparkFunction[]): PlannedWatch[] {
  const groups = new Map<string, { path: string; specs: { fn: SparkFunction; selector: string; requirements: LabelRequirement[] }[] }>();
  const own: PlannedWatch[] = [];
  for (const fn of functions) {
    for (const spec of fn.watches ?? []) {
      const selector = spec.labelSelector ?? '';
      const requirements = parseLabelSelector(selector);
      if (!requirements) {
        const existing = own.find((w) => w.path === spec.path && w.labelSelector === selector);
        if (existing) existing.consumers.push({ fn });
        else own.push({ path: spec.path, labelSelector: selector, consumers: [{ fn }] });
        continue;
      }
      const group = groups.get(spec.path) ?? { path: spec.path, specs: [] };
      group.specs.push({ fn, selector, requirements });
      groups.set(spec.path, group);
    }
  }
  const shared = [...groups.values()].map(({ path, specs }): PlannedWatch => {
    const selectors = new Set(specs.map((s) => s.selector));
    if (selectors.size === 1) {
      const [selector] = selectors;
      return { path, ...(selector ? { labelSelector: selector } : {}), consumers: specs.map(({ fn }) => ({ fn })) };
    }
    const common = commonSelector(specs.map((s) => s.requirements));
    return {
      path,
      ...(common ? { labelSelector: common } : {}),
      consumers: specs.map(({ fn, selector, requirements }) => (selector === common ? { fn } : { fn, filter: requirements })),
    };
  });
  return [...shared, ...own];
}

type Labelled = { metadata?: { labels?: Record<string, string> } };
const labelsOf = (object: unknown): Record<string, string> | undefined => (object as Labelled | undefined)?.metadata?.labels;

/**
 * The change as a consumer with this filter would have seen it from a watch with its own
 * selector: an object that comes to match is ADDED, one that stops matching is DELETED (as the
 * apiserver's cacher does: with the content it last matched, at the new resourceVersion), and
 * changes of objects it never matched are not its business (undefined).
 */
export function consumerView(event: WatchEvent, filter: readonly LabelRequirement[] | undefined): Pick<WatchEvent, 'type' | 'object'> | undefined {
  if (!filter) return event;
  const now = matchesLabels(filter, labelsOf(event.object));
  const was = event.previous !== undefined && matchesLabels(filter, labelsOf(event.previous));
  switch (event.type) {
    case 'ADDED':
      return now ? event : undefined;
    case 'MODIFIED':
      if (was && now) return event;
      if (now) return { type: 'ADDED', object: event.object };
      return was ? { type: 'DELETED', object: leftSelector(event.previous!, event.object) } : undefined;
    case 'DELETED':
      return was ? event : undefined;
  }
}

/** The last matching content at the resourceVersion of the change that made it leave. */
function leftSelector(previous: WatchEvent['object'], now: WatchEvent['object']): WatchEvent['object'] {
  const resourceVersion = now.metadata?.resourceVersion;
  return { ...previous, metadata: { ...previous.metadata, ...(resourceVersion !== undefined ? { resourceVersion } : {}) } };
}
