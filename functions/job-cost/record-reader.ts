import { errorMessage } from '../../shared/errors.js';
import type { ObjectStore } from '../../shared/store/object-store.js';
import { getBuffer, listAll } from '../../shared/store/read.js';
import { COSTS_PREFIX, type CostRecord } from './cost-record.js';

/** A cost record with the `dt=` day it is filed under and its key. */
export interface DatedRecord {
  day: string;
  key: string;
  record: CostRecord;
}

/** Lists and reads at most this many days / records at once: enough to hide S3 latency, few enough to be kind to it. */
const READ_CONCURRENCY = 16;
const DAY_MS = 86_400_000;

/** Every day from `from` to `to` (YYYY-MM-DD, inclusive), in order. */
export function daysBetween(from: string, to: string): string[] {
  const days: string[] = [];
  for (let t = Date.parse(`${from}T00:00:00Z`), end = Date.parse(`${to}T00:00:00Z`); t <= end; t += DAY_MS) days.push(new Date(t).toISOString().slice(0, 10));
  return days;
}

/** The day `n` days after `day` (before, when negative). */
export function addDays(day: string, n: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + n * DAY_MS).toISOString().slice(0, 10);
}

async function mapBounded<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/**
 * Reads the cost records filed under days `from` to `to` (inclusive): one listing per day
 * (`costs/dt=<day>/`), so the cost does not grow with the history kept. A record that does not
 * read or parse is a sentence in `problems`, and the others are still returned.
 * @example const { records, problems } = await readRecords(store, '2026-01-01', '2026-01-31')
 */
export async function readRecords(store: ObjectStore, from: string, to: string): Promise<{ records: DatedRecord[]; problems: string[] }> {
  const keys = (
    await mapBounded(daysBetween(from, to), READ_CONCURRENCY, async (day) => {
      const found: { day: string; key: string }[] = [];
      for await (const object of listAll(store, `${COSTS_PREFIX}dt=${day}/`)) if (object.key.endsWith('.json')) found.push({ day, key: object.key });
      return found;
    })
  ).flat();
  const problems: string[] = [];
  const read = await mapBounded(keys, READ_CONCURRENCY, async ({ day, key }) => {
    try {
      const record = JSON.parse((await getBuffer(store, key)).toString('utf8')) as CostRecord;
      if (typeof record !== 'object' || record === null || typeof record.appId !== 'string' || typeof record.namespace !== 'string') throw new Error('it is not a cost record (no appId / namespace)');
      if (record.cost && (typeof record.cost.total !== 'number' || typeof record.cost.expected !== 'number')) throw new Error('its cost has no numeric total / expected');
      return { day, key, record };
    } catch (err) {
      problems.push(`${key} is not readable: ${errorMessage(err)}`);
      return undefined;
    }
  });
  return { records: read.filter((r): r is DatedRecord => r !== undefined), problems: problems.sort() };
}
