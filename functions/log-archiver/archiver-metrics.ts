import type { Counter, Histogram } from 'prom-client';
import type { Metrics } from '../../shared/metrics.js';

/** The Prometheus metrics log-archiver reports (all prefixed `sparkfn_`). */
export interface ArchiverMetrics {
  records: Counter;
  lines: Counter;
  bytes: Counter;
  objects: Counter;
  deadLetters: Counter;
  tombstones: Counter;
  invalidUtf8: Counter;
  duplicates: Counter;
  batchSeconds: Histogram;
  compactedLines: Counter;
  compactionDropped: Counter;
}

/** Batch latencies from 10 ms to 2 min: a Lambda batch of 10,000 records lands around 0.5–5 s. */
const BATCH_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

/** Gets (or creates, on first use) log-archiver's metrics in `metrics`. */
export function archiverMetrics(metrics: Metrics): ArchiverMetrics {
  return {
    records: metrics.counter('log_archiver_records_total', 'Kafka records received by log-archiver.'),
    lines: metrics.counter('log_archiver_lines_total', 'Log lines archived into chunks.'),
    bytes: metrics.counter('log_archiver_bytes_total', 'Uncompressed bytes of log lines archived (newlines included).'),
    objects: metrics.counter('log_archiver_objects_written_total', 'Objects written by log-archiver, by kind (chunk, deadletter, compacted).', ['kind']),
    deadLetters: metrics.counter('log_archiver_dead_letters_total', 'Records dead-lettered, by reason.', ['reason']),
    tombstones: metrics.counter('log_archiver_tombstones_total', 'Records with a null value (tombstones), counted and skipped.'),
    invalidUtf8: metrics.counter('log_archiver_invalid_utf8_total', 'Records whose value was not valid UTF-8 (kept with U+FFFD).'),
    duplicates: metrics.counter('log_archiver_duplicate_records_total', 'Records seen twice in one batch (same topic, partition and offset), archived once.'),
    batchSeconds: metrics.histogram('log_archiver_batch_duration_seconds', 'Time to archive one Kafka batch, writes included.', [], BATCH_BUCKETS),
    compactedLines: metrics.counter('log_archiver_compacted_lines_total', 'Lines written into compacted objects.'),
    compactionDropped: metrics.counter('log_archiver_compaction_dropped_lines_total', 'Re-delivered lines dropped by compaction.'),
  };
}
