import type { KubeObject } from './storage.js';

/** One set of keys, sorted on demand and kept sorted until the set changes. */
class KeySet {
  readonly keys = new Set<string>();
  private order: string[] | undefined;

  add(key: string): void {
    if (this.keys.has(key)) return;
    this.keys.add(key);
    this.order = undefined;
  }

  delete(key: string): void {
    if (this.keys.delete(key)) this.order = undefined;
  }

  /** Keys in etcd order (UTF-16 code units, as `<` compares them). */
  sorted(): string[] {
    this.order ??= [...this.keys].sort();
    return this.order;
  }
}

/** A label requirement an object meets only by carrying one of `values` under `key` (`=`, `==`, `in`). */
export interface LabelValues {
  key: string;
  values: string[];
}

/** The namespace a key is filed under: its part before the first `/`; cluster-scoped keys have none. */
function bucketOf(key: string): string | undefined {
  const slash = key.indexOf('/');
  return slash >= 0 ? key.slice(0, slash) : undefined;
}

/** String-valued labels: a selector's values are strings, so no other value can be selected. */
function stringLabels(object: KubeObject): [string, string][] {
  const labels = object.metadata.labels;
  if (!labels || typeof labels !== 'object') return [];
  return Object.entries(labels).filter((entry): entry is [string, string] => typeof entry[1] === 'string');
}

/** First index in `sorted` whose key is not below `key`. */
export function lowerBound(sorted: string[], key: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The indexes of one resource's current objects, like the watch cache's: keys per namespace (and
 * all of them), each sorted on demand, and keys per label value. They only pick candidates;
 * callers still check each candidate against the whole selector, so an index never changes a result.
 */
export class ResourceIndex {
  private readonly all = new KeySet();
  private readonly byNamespace = new Map<string, KeySet>();
  private readonly byLabel = new Map<string, Map<string, Set<string>>>();

  /** Records that `key` now holds `object` (undefined: deleted) instead of `prev`. */
  update(key: string, object: KubeObject | undefined, prev: KubeObject | undefined): void {
    if (prev) for (const [name, value] of stringLabels(prev)) this.byLabel.get(name)?.get(value)?.delete(key);
    const bucket = bucketOf(key);
    if (!object) {
      this.all.delete(key);
      if (bucket !== undefined) this.byNamespace.get(bucket)?.delete(key);
      return;
    }
    this.all.add(key);
    if (bucket !== undefined) {
      let keys = this.byNamespace.get(bucket);
      if (!keys) this.byNamespace.set(bucket, (keys = new KeySet()));
      keys.add(key);
    }
    for (const [name, value] of stringLabels(object)) {
      let values = this.byLabel.get(name);
      if (!values) this.byLabel.set(name, (values = new Map()));
      let keys = values.get(value);
      if (!keys) values.set(value, (keys = new Set()));
      keys.add(key);
    }
  }

  /** Keys starting with `prefix` (all keys when undefined), sorted. Some may lack the prefix: check it. */
  sortedKeys(prefix: string | undefined): string[] {
    if (prefix === undefined) return this.all.sorted();
    const bucket = bucketOf(prefix);
    // A prefix `ns/` names one bucket; anything else (a namespace with a slash) is looked for everywhere.
    if (bucket === undefined || bucket.length !== prefix.length - 1) return this.all.sorted();
    return this.byNamespace.get(bucket)?.sorted() ?? [];
  }

  /**
   * Keys of objects meeting every requirement's value set, or undefined when there is no
   * requirement. Taken from the requirement with the fewest candidates, so unsorted and possibly
   * more than meet the others.
   */
  labelled(requirements: LabelValues[]): Iterable<string> | undefined {
    let best: Set<string>[] | undefined;
    let bestSize = Infinity;
    for (const { key, values } of requirements) {
      const byValue = this.byLabel.get(key);
      const sets = [...new Set(values)].map((v) => byValue?.get(v)).filter((s): s is Set<string> => s !== undefined);
      const size = sets.reduce((n, s) => n + s.size, 0);
      if (size < bestSize) {
        best = sets;
        bestSize = size;
      }
    }
    // Different values of one label never share a key, so the sets are disjoint.
    return best && (function* () {
      for (const set of best) yield* set;
    })();
  }
}
