import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Deps } from '../../shared/deps.js';
import { errorMessage } from '../../shared/errors.js';
import { normalizeTrigger } from '../../shared/platform/normalize.js';
import type { KafkaRecord } from '../../shared/platform/trigger.js';
import { SPARKFN_COMMAND } from '../../shared/text/command-name.js';
import { formatBytes } from '../../shared/text/quantity.js';
import { formatTable } from '../../shared/text/table.js';
import { listApp } from '../log-viewer/app-listing.js';
import { printLog } from '../log-viewer/cli.js';
import { run, type ArchiveSummary, type CompactionSummary } from './handler.js';

const EVENTS_DIR = fileURLToPath(new URL('../../events/', import.meta.url));
/** Kafka trigger samples: the same three records in every platform's envelope. */
const KAFKA_SAMPLES = ['lambda/msk.json', 'lambda/self-managed-kafka.json', 'fc/eventbridge-kafka.json', 'fc/eventbridge-kafka-rawdata.json', 'local/kafka.json'];
/** The driver pod of the samples' app, as the pod watch sees it end. */
const DRIVER_SAMPLE = 'k8s/pod-watch-event.json';
/** Where the events/filebeat/ values go as one batch: a partition the trigger samples do not use. */
const FILEBEAT_TOPIC = 'spark-logs';
const FILEBEAT_PARTITION = 1;
/** Lines of the read-back log shown. */
const SHOWN_LINES = 12;

/** The executor log the demo printed: where the next commands can find it again. */
export interface ShownLog {
  appId: string;
  executorId: string;
  stream: string;
  /** log-viewer's route for it, `/logs/<appId>/<executorId>/<stream>`. */
  path: string;
}

/** A Filebeat event's line and time: the same line in two samples is one log line, not two. */
function lineId(value: string): string {
  try {
    const event = JSON.parse(value) as { message?: unknown; '@timestamp'?: unknown };
    return JSON.stringify([event['@timestamp'], event.message]);
  } catch {
    return value;
  }
}

/**
 * log-archiver's part of `npm start` (`sparkfn demo`): archives the Kafka trigger samples (the
 * same records in each platform's envelope, so every delivery after the first rewrites the same
 * chunk keys) and the events/filebeat/ values as one more batch, ends the app with the driver pod
 * watch sample (compaction drops the re-delivered lines), lists the app the way
 * `GET /logs/<appId>` does and prints one executor's log read back through log-viewer, as
 * `sparkfn logs` prints it. Safe to re-run on the same store: keys are deterministic.
 */
export async function demo(deps: Deps, out: (text: string) => void): Promise<ShownLog | undefined> {
  out('\nlog-archiver: Filebeat events from Kafka to per-executor gzip logs\n');
  const rows: string[][] = [];
  const sampled = new Set<string>();
  for (const file of KAFKA_SAMPLES) {
    try {
      const input = normalizeTrigger(await readFile(join(EVENTS_DIR, file)));
      if (input.kind === 'kafka') for (const r of input.records) if (r.value) sampled.add(lineId(r.value.toString('utf8')));
      const summary = (await run(input, deps)) as ArchiveSummary;
      rows.push([file, String(summary.records), String(summary.chunks), String(summary.deadLettered)]);
    } catch (err) {
      rows.push([file, 'failed', errorMessage(err).slice(0, 80), '']);
    }
  }
  // A record value is the compact JSON Filebeat's json codec writes; lines a trigger sample already carries are not sent twice.
  const names = (await readdir(join(EVENTS_DIR, 'filebeat'))).filter((n) => n.endsWith('.json')).sort();
  const values = await Promise.all(names.map(async (name) => JSON.stringify(JSON.parse(await readFile(join(EVENTS_DIR, 'filebeat', name), 'utf8')))));
  const records: KafkaRecord[] = values
    .filter((value) => !sampled.has(lineId(value)))
    .map((value, i) => ({ topic: FILEBEAT_TOPIC, partition: FILEBEAT_PARTITION, offset: String(i), key: null, value: Buffer.from(value), headers: {} }));
  const filebeat = (await run({ kind: 'kafka', source: 'demo', records }, deps)) as ArchiveSummary;
  rows.push([`events/filebeat/ (${records.length} new values, no key)`, String(filebeat.records), String(filebeat.chunks), String(filebeat.deadLettered)]);
  out(formatTable(['Kafka batch', 'records', 'chunks', 'dead letters'], rows) + '\n');

  const ended = normalizeTrigger(await readFile(join(EVENTS_DIR, DRIVER_SAMPLE)));
  const compaction = (await run(ended, deps)) as CompactionSummary;
  const pod = ended.kind === 'k8s-objects' ? ended.changes[0]?.object : undefined;
  const appId = pod?.metadata.labels?.['spark-app-selector'] ?? '';
  out(
    `\n${DRIVER_SAMPLE}: driver pod ${pod?.metadata.name} ${(pod?.status as { phase?: string } | undefined)?.phase} → compacted ${compaction.compacted} stream(s) of ${appId}: ` +
      `${compaction.lines} line(s) kept, ${compaction.dropped} re-delivered line(s) dropped, ${compaction.deleted} chunk(s) deleted\n`,
  );

  const listing = await listApp(deps.store, appId);
  if (!listing) {
    out(`log-viewer: nothing is archived for ${appId}.\n`);
    return undefined;
  }
  const streams = listing.executors.flatMap((e) => e.streams.map((s) => ({ executorId: e.executorId, ...s })));
  out(`\nlog-viewer: GET /logs/${appId}\n`);
  out(formatTable(['executor', 'stream', 'stored', 'compacted', 'chunks', 'path'], streams.map((s) => [s.executorId, s.stream, formatBytes(s.storedBytes), s.compacted ? 'yes' : 'no', String(s.chunks), s.path])) + '\n');

  const shown = streams.find((s) => s.executorId !== 'driver' && s.stream === 'stderr') ?? streams[0]!;
  out(`\n${SPARKFN_COMMAND} logs ${appId} ${shown.executorId} ${shown.stream} --tail ${SHOWN_LINES}\n`);
  let text = '';
  await printLog({ appId, executorId: shown.executorId, stream: shown.stream, tail: SHOWN_LINES }, deps, (t) => void (text += t));
  out(text.replace(/^/gm, '  ').replace(/ +$/, ''));
  return { appId, executorId: shown.executorId, stream: shown.stream, path: shown.path };
}
