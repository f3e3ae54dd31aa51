import type { Deps } from '../../shared/deps.js';
import { DeadlineError, InvalidInputError, SparkfnError, errorMessage } from '../../shared/errors.js';
import { keySegmentProblem } from '../../shared/ids.js';
import type { KafkaBatchInput, KafkaRecord } from '../../shared/platform/trigger.js';
import { mapConcurrently } from '../../shared/store/map-concurrently.js';
import { type ArchiverMetrics, archiverMetrics } from './archiver-metrics.js';
import { type BuiltChunk, type ChunkGroup, buildChunk, groupEntries } from './chunk-writer.js';
import { deadLetter, deadLetterKey } from './dead-letter.js';
import { type DeadLetterReason, type LogEntry, type PlaceChecks, offsetProblem, parseRecord } from './parse-record.js';
import type { ArchiverSettings } from './settings.js';
import { type FailedWrite, type IsolatedWrite, type IsolatedWriteResult, isStoreUnavailable, writeIsolated } from './write-isolated.js';

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
  /** Writes tried again after a failure (see writeIsolated). */
  retries: number;
}

/**
 * Archives one Kafka batch: every record becomes a line in a gzip chunk per (app, executor,
 * stream, topic, partition), or a dead letter. Keys are deterministic, so a re-delivered batch
 * rewrites the same objects. A write that fails is tried again alone, up to
 * `settings.maxRecordAttempts` times; a chunk that fails every time while the store takes other
 * writes is poison, and its records are dead-lettered (`write-failed`, with the error) so the
 * partition moves on. When the store itself fails (see setAsideFailedChunks) the call rejects,
 * so the trigger re-delivers the batch and the consumer does not commit.
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
    retries: 0,
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
  const letters: Letter[] = rejected.map(({ record, offset, reason, detail }) => ({
    key: deadLetterKey(record.topic, record.partition, offset),
    body: JSON.stringify(deadLetter(record, reason, detail), null, 2),
    reason,
  }));

  // Past the deadline nothing is written: a half-written batch would be rewritten anyway, but
  // stopping here leaves the next delivery the whole time it needs.
  if (deps.signal?.aborted) throw new DeadlineError('The invocation deadline passed before the batch was written; it will be delivered again.');

  const writes: BatchWrite[] = [
    ...chunks.map((chunk, i) => ({
      chunk,
      group: groups[i] as ChunkGroup,
      put: async () => {
        await deps.store.put(chunk.key, chunk.body, chunk.options);
        metrics.objects.inc({ kind: 'chunk' });
      },
    })),
    ...letters.map((letter) => letterWrite(letter, deps, metrics)),
  ];
  const result = await writeIsolated(writes, { maxAttempts: settings.maxRecordAttempts, concurrency: WRITE_CONCURRENCY, ...(deps.signal && { signal: deps.signal }), ...(settings.retryBaseDelayMs !== undefined && { baseDelayMs: settings.retryBaseDelayMs }) });
  summary.retries = result.retries;
  const failedChunks = new Set<BuiltChunk>();
  if (result.failed.length > 0) {
    const poisoned = await setAsideFailedChunks(input.records, result, deps, metrics);
    for (const { item } of result.failed) if (item.chunk) failedChunks.add(item.chunk);
    const replaced = new Set(letters.map((l) => l.key));
    for (const letter of poisoned) {
      // A cut line's record already had a dead letter (line-too-long); the new one replaces it.
      if (replaced.has(letter.key)) summary.deadLettered--;
      letters.push(letter);
    }
  }

  for (const chunk of chunks) {
    if (failedChunks.has(chunk)) continue;
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

interface Letter {
  key: string;
  body: string;
  reason: DeadLetterReason;
}

/** An object of the batch to write: a chunk (with the group of entries it holds) or a dead letter. */
interface BatchWrite extends IsolatedWrite {
  chunk?: BuiltChunk;
  group?: ChunkGroup;
  letter?: Letter;
}

function letterWrite(letter: Letter, deps: Deps, metrics: ArchiverMetrics): BatchWrite {
  return {
    letter,
    put: async () => {
      await deps.store.put(letter.key, letter.body, { contentType: 'application/json' });
      metrics.objects.inc({ kind: 'deadletter' });
    },
  };
}

/**
 * Dead-letters the records of the chunks that failed every attempt, so that the partition moves
 * on; or throws, so that the whole batch is delivered again, when the store rather than these
 * records is at fault. The store is taken to be down, and nothing is set aside, when:
 * - the last error says so (unreachable, 5xx, throttled, a full or read-only volume: isStoreUnavailable), or
 * - a dead letter could not be written (nothing can be set aside safely), or
 * - nothing of the batch could be written and more than one chunk failed (a store down for
 *   everyone fails every key, not one), or
 * - the dead letters of the failing records cannot be written either: they are the probe that
 *   shows whether the store takes writes at all when the failing chunk was the batch's only object.
 * Returns the dead letters written.
 */
async function setAsideFailedChunks(records: readonly KafkaRecord[], result: IsolatedWriteResult<BatchWrite>, deps: Deps, metrics: ArchiverMetrics): Promise<Letter[]> {
  const lostLetter = result.failed.find((f) => f.item.letter);
  if (lostLetter) {
    throw new SparkfnError(`The dead letter ${lostLetter.item.letter?.key} could not be written after ${lostLetter.attempts} attempt(s): ${errorMessage(lostLetter.error)}; the batch will be delivered again.`, { cause: lostLetter.error });
  }
  const first = result.failed[0] as FailedWrite<BatchWrite>;
  const unavailable = result.failed.find((f) => isStoreUnavailable(f.error));
  if (unavailable) {
    throw new SparkfnError(`The store is unavailable (${errorMessage(unavailable.error)}, after ${unavailable.attempts} attempt(s)); the batch will be delivered again.`, { cause: unavailable.error });
  }
  if (result.written === 0 && result.failed.length > 1) {
    throw new SparkfnError(`None of the ${result.failed.length} chunks of the batch could be written (${errorMessage(first.error)}): the store is failing, not a record; the batch will be delivered again.`, { cause: first.error });
  }
  const byOffset = new Map<string, KafkaRecord>();
  for (const record of records) byOffset.set(`${record.topic}\u0000${record.partition}\u0000${Number(record.offset)}`, record);
  const letters: Letter[] = [];
  for (const { item, attempts, error } of result.failed) {
    const detail = `The chunk ${item.chunk?.key} holding this record could not be written after ${attempts} attempt(s), while the store took other writes: ${errorMessage(error)}`;
    deps.logger.warn({ function: 'log-archiver', key: item.chunk?.key, records: item.group?.entries.length, attempts, err: errorMessage(error) }, 'chunk failed every attempt; its records go to the dead letter');
    for (const entry of item.group?.entries ?? []) {
      const record = byOffset.get(`${entry.topic}\u0000${entry.partition}\u0000${entry.offset}`) as KafkaRecord;
      letters.push({
        key: deadLetterKey(entry.topic, entry.partition, entry.offset),
        body: JSON.stringify(deadLetter(record, 'write-failed', detail.endsWith('.') ? detail : `${detail}.`, attempts), null, 2),
        reason: 'write-failed',
      });
    }
  }
  const probe = await writeIsolated(
    letters.map((letter) => letterWrite(letter, deps, metrics)),
    { maxAttempts: 1, concurrency: WRITE_CONCURRENCY, ...(deps.signal && { signal: deps.signal }) },
  );
  const lost = probe.failed[0];
  if (lost) {
    throw new SparkfnError(`The chunk ${first.item.chunk?.key} failed ${first.attempts} time(s) (${errorMessage(first.error)}) and its dead letters could not be written either (${errorMessage(lost.error)}): the store is failing, not a record; the batch will be delivered again.`, { cause: lost.error });
  }
  return letters;
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
