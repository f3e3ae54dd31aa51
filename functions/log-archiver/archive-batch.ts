import type { Deps } from '../../shared/deps.js';
import { DeadlineError, InvalidInputError } from '../../shared/errors.js';
import { keySegmentProblem } from '../../shared/ids.js';
import type { KafkaBatchInput, KafkaRecord } from '../../shared/platform/trigger.js';
import { mapConcurrently } from '../../shared/store/map-concurrently.js';
import { archiverMetrics } from './archiver-metrics.js';
import { type BuiltChunk, buildChunk, groupEntries } from './chunk-writer.js';
import { deadLetter, deadLetterKey } from './dead-letter.js';
import { type DeadLetterReason, type LogEntry, type PlaceChecks, offsetProblem, parseRecord } from './parse-record.js';
import type { ArchiverSettings } from './settings.js';

/** Chunks gzipped at once: enough to keep libuv's 4 zlib threads busy while the event loop groups. */
const GZIP_CONCURRENCY = 8;
/** Objects put at once: S3 and OSS take far more; this keeps sockets and memory modest. */
const WRITE_CONCURRENCY = 16;
/**
 * Kafka's own limit on a topic name (249 ASCII characters): it is a whole segment of a dead
 * letter's key, which has room for it. A topic too long for a chunk's file name is caught per
 * record, and its records are dead-lettered.
 */
const MAX_TOPIC_BYTES = 249;

/** What one Kafka batch became. */
export interface ArchiveSummary {
  kind: 'archive';
  /** Records in the batch. */
  records: number;
  /** Lines written into chunks. */
  archived: number;
  /** Uncompressed bytes of those lines, newlines included. */
  bytes: number;
  /** Chunk objects written. */
  chunks: number;
  /** Records written to the dead-letter folder (a cut line is archived and dead-lettered). */
  deadLettered: number;
  deadLetters: Partial<Record<DeadLetterReason, number>>;
  /** Null values (tombstones): counted, not dead-lettered. */
  tombstones: number;
  /** Records seen twice in this batch (same topic, partition, offset): archived once. */
  duplicates: number;
  /** Values that were not valid UTF-8: their lines hold U+FFFD. */
  invalidUtf8: number;
  /** Lines cut to the maximum line size. */
  truncated: number;
}

/**
 * Archives one Kafka batch: every record becomes a line in a gzip chunk per (app, executor,
 * stream, topic, partition), or a dead letter. Keys are deterministic, so a re-delivered batch
 * rewrites the same objects. Resolves only once every write succeeded; any write failure
 * rejects, so the trigger re-delivers the batch (and the consumer does not commit).
 *
 * Memory: the batch (already in memory, from the trigger) plus its compressed chunks; lines are
 * views into the record values, not copies. Nothing is kept between batches.
 */
export async function archiveBatch(input: KafkaBatchInput, deps: Deps, settings: ArchiverSettings): Promise<ArchiveSummary> {
  const started = performance.now();
  const metrics = archiverMetrics(deps.metrics);
  const summary: ArchiveSummary = {
    kind: 'archive',
    records: input.records.length,
    archived: 0,
    bytes: 0,
    chunks: 0,
    deadLettered: 0,
    deadLetters: {},
    tombstones: 0,
    duplicates: 0,
    invalidUtf8: 0,
    truncated: 0,
  };
  checkBatch(input.records);

  const entries: LogEntry[] = [];
  const rejected: { record: KafkaRecord; offset: number; reason: DeadLetterReason; detail: string }[] = [];
  // A batch whose offsets rise within each partition (what every trigger delivers) cannot hold a
  // record twice: the set of ids is only built for one that does not.
  const seen = offsetsRise(input.records) ? undefined : new Set<string>();
  const placeChecks: PlaceChecks = new Map();
  for (const record of input.records) {
    if (seen) {
      const id = `${record.topic}\u0000${record.partition}\u0000${record.offset}`;
      if (seen.has(id)) {
        summary.duplicates++;
        continue;
      }
      seen.add(id);
    }
    const outcome = parseRecord(record, settings, placeChecks);
    if (outcome.kind === 'tombstone') {
      summary.tombstones++;
    } else if (outcome.kind === 'rejected') {
      rejected.push({ record, offset: Number(record.offset), reason: outcome.reason, detail: outcome.detail });
    } else {
      entries.push(outcome.entry);
      if (outcome.invalidUtf8) summary.invalidUtf8++;
      if (outcome.tooLong) {
        summary.truncated++;
        rejected.push({ record, offset: outcome.entry.offset, reason: 'line-too-long', detail: outcome.tooLong.detail });
      }
    }
  }

  const groups = groupEntries(entries);
  const chunks: BuiltChunk[] = await mapConcurrently(groups, GZIP_CONCURRENCY, (group) => buildChunk(group, settings.gzipLevel, settings.maxMemberTextBytes));
  const letters = rejected.map(({ record, offset, reason, detail }) => ({
    key: deadLetterKey(record.topic, record.partition, offset),
    body: JSON.stringify(deadLetter(record, reason, detail), null, 2),
    reason,
  }));

  // Past the deadline nothing is written: a half-written batch would be rewritten anyway, but
  // stopping here leaves the next delivery the whole time it needs.
  if (deps.signal?.aborted) throw new DeadlineError('The invocation deadline passed before the batch was written; it will be delivered again.');

  await mapConcurrently([...chunks.map((c) => ({ chunk: c })), ...letters.map((l) => ({ letter: l }))], WRITE_CONCURRENCY, async (item) => {
    if ('chunk' in item) {
      await deps.store.put(item.chunk.key, item.chunk.body, item.chunk.options);
      metrics.objects.inc({ kind: 'chunk' });
    } else {
      await deps.store.put(item.letter.key, item.letter.body, { contentType: 'application/json' });
      metrics.objects.inc({ kind: 'deadletter' });
    }
  });

  for (const chunk of chunks) {
    summary.chunks++;
    summary.archived += chunk.lines;
    summary.bytes += chunk.textBytes;
  }
  for (const letter of letters) {
    summary.deadLettered++;
    summary.deadLetters[letter.reason] = (summary.deadLetters[letter.reason] ?? 0) + 1;
    metrics.deadLetters.inc({ reason: letter.reason });
  }
  metrics.records.inc(summary.records);
  metrics.lines.inc(summary.archived);
  metrics.bytes.inc(summary.bytes);
  metrics.tombstones.inc(summary.tombstones);
  metrics.invalidUtf8.inc(summary.invalidUtf8);
  metrics.duplicates.inc(summary.duplicates);
  metrics.batchSeconds.observe((performance.now() - started) / 1000);
  deps.logger.info({ function: 'log-archiver', source: input.source, ...summary }, 'batch archived');
  return summary;
}

/**
 * Refuses a batch whose topic or offsets cannot name an object. Kafka allows `a..b` as a topic
 * name, which is not a safe key segment: a setup problem to fix, not a record to dead-letter
 * (its dead letter would need the same key segment). Offsets come from the adapters as digits.
 */
function checkBatch(records: readonly KafkaRecord[]): void {
  const topics = new Set<string>();
  let topic: string | undefined;
  for (const record of records) {
    if (record.topic !== topic && !topics.has(record.topic)) {
      topics.add(record.topic);
      const problem = keySegmentProblem(record.topic, MAX_TOPIC_BYTES);
      if (problem) {
        throw new InvalidInputError(
          `The Kafka topic ${JSON.stringify(record.topic)} ${problem}; log-archiver cannot use it in object keys. Have Filebeat write to another topic.`,
          'unsafe-topic',
        );
      }
    }
    topic = record.topic;
    const problem = offsetProblem(record.offset);
    if (problem) throw new InvalidInputError(`The offset ${JSON.stringify(record.offset.slice(0, 40))} of a record in ${record.topic}-${record.partition} ${problem}.`, 'invalid-offset');
  }
}

/** Whether the offsets of each topic-partition strictly rise through the batch (offsets are checked digits). */
function offsetsRise(records: readonly KafkaRecord[]): boolean {
  const last = new Map<string, number>();
  let topic = '';
  let partition = -1;
  let previous = -1;
  for (const record of records) {
    const offset = Number(record.offset);
    if (record.topic !== topic || record.partition !== partition) {
      if (partition >= 0) last.set(`${topic}\u0000${partition}`, previous);
      topic = record.topic;
      partition = record.partition;
      previous = last.get(`${topic}\u0000${partition}`) ?? -1;
    }
    if (offset <= previous) return false;
    previous = offset;
  }
  return true;
}
