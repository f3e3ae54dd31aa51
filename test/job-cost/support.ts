import { existsSync } from 'node:fs';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compressSync } from 'lz4-napi';
import { compress as snappyCompress } from 'snappyjs';
import { ManualClock } from '../../shared/clock.js';
import type { Deps } from '../../shared/deps.js';
import { createLogger } from '../../shared/logger.js';
import { Metrics } from '../../shared/metrics.js';
import { FileObjectStore } from '../../shared/store/fs-store.js';
import type { ObjectStore } from '../../shared/store/object-store.js';
import { LZ4_BLOCK_MAGIC, lz4BlockChecksum } from '../../functions/job-cost/codec-lz4-block.js';
import { SNAPPY_JAVA_MAGIC } from '../../functions/job-cost/codec-snappy-java.js';
import { loadPriceFile, type PriceFile } from '../../functions/job-cost/price-file.js';
import type { CostSettings } from '../../functions/job-cost/settings.js';

/**
 * Apache Spark's own test event logs (SOURCES.md lists their reference figures), in the project's
 * shared/ folder beside the checkout (where CI lays a copy), else where the workplace keeps it.
 */
export const FIXTURES_DIR = [join(import.meta.dirname, '../../../shared/fixtures/spark-events'), '/work/shared/fixtures/spark-events'].find((dir) => existsSync(dir)) ?? '/work/shared/fixtures/spark-events';
export const EXAMPLE_PRICES = join(import.meta.dirname, '../../deploy/prices.example.yaml');
export const DATA_DIR = join(import.meta.dirname, 'data');

export const fixture = (name: string) => readFile(join(FIXTURES_DIR, name));

/** The real rolling event log of SparkApplication spark-pi-python (test/job-cost/data/SOURCES.md). */
export const PI_APP_ID = 'spark-bcec39f6201b42b9925124595baad260';
export const PI_LOG_KEY = `eventlog_v2_${PI_APP_ID}/events_1_${PI_APP_ID}`;
export const piEventLog = () => readFileSync(join(DATA_DIR, PI_LOG_KEY));

export async function tempStore(): Promise<FileObjectStore> {
  return new FileObjectStore(await mkdtemp(join(tmpdir(), 'sparkfn-job-cost-')));
}

export function testDeps(store: ObjectStore, clock = new ManualClock(Date.UTC(2026, 0, 2))): Deps & { clock: ManualClock } {
  return { store, clock, logger: createLogger('silent'), metrics: new Metrics() };
}

let prices: PriceFile | undefined;
export async function examplePrices(): Promise<PriceFile> {
  prices ??= await loadPriceFile(EXAMPLE_PRICES);
  return prices;
}

export async function settings(extra: Partial<CostSettings> = {}): Promise<CostSettings> {
  return { eventLogPrefix: 'spark-events/', teamLabels: ['team', 'department'], prices: await examplePrices(), ...extra };
}

/** lz4-java's LZ4BlockOutputStream framing around lz4-napi's raw blocks, as Spark's lz4 codec writes it. */
export function lz4BlockEncode(data: Buffer, blockSize = 64 * 1024, end = true): Buffer {
  const out: Buffer[] = [];
  const header = (method: number, compressed: number, original: number, checksum: number) => {
    const h = Buffer.alloc(21);
    LZ4_BLOCK_MAGIC.copy(h, 0);
    h[8] = method | 6;
    h.writeInt32LE(compressed, 9);
    h.writeInt32LE(original, 13);
    h.writeInt32LE(checksum, 17);
    return h;
  };
  for (let i = 0; i < data.length; i += blockSize) {
    const block = data.subarray(i, i + blockSize);
    const raw = compressSync(block).subarray(4); // lz4-napi prefixes the size; the block format does not.
    out.push(header(0x20, raw.length, block.length, lz4BlockChecksum(block)), raw);
  }
  if (end) out.push(header(0x10, 0, 0, 0));
  return Buffer.concat(out);
}

/** snappy-java's SnappyOutputStream: header, then (int32 BE length, raw snappy block)*. */
export function snappyJavaEncode(data: Buffer, blockSize = 32 * 1024): Buffer {
  const header = Buffer.alloc(16);
  SNAPPY_JAVA_MAGIC.copy(header, 0);
  header.writeInt32BE(1, 8);
  header.writeInt32BE(1, 12);
  const out: Buffer[] = [header];
  for (let i = 0; i < data.length; i += blockSize) {
    const block = Buffer.from(snappyCompress(data.subarray(i, i + blockSize)));
    const len = Buffer.alloc(4);
    len.writeInt32BE(block.length, 0);
    out.push(len, block);
  }
  return Buffer.concat(out);
}

/** Chunks of `size` bytes, to feed readers as a store stream would. */
export async function* chunks(data: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}
