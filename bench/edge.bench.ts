// /healthz latency of `sparkfn serve` (its own process, on 127.0.0.1) while 1,000 hostile
// connections hit it at once (unauthenticated or wrongly signed webhooks and public posts, with
// bodies twice the limit or one byte every 500 ms), against the same probe on the idle server
// in the same run; with the server's RSS growth and how every hostile client ended.
// Goals (issue #14): p99 under load < 100 ms, RSS growth ≤ 50 MB, every client answered
// 401/408/413 or closed within the timeouts.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runFlood } from '../test/support/edge-flood.js';
import { startServeChild } from '../test/support/serve-child.js';

const CONNECTIONS = Number(process.env.EDGE_CONNECTIONS ?? 1000);
const ROUNDS = 3;
const BODY_LIMIT = 1024 * 1024;
const REQUEST_TIMEOUT_MS = 5_000;
const MIB = 1024 * 1024;

const dir = await mkdtemp(join(tmpdir(), 'sparkfn-bench-edge-'));
const serve = await startServeChild({
  SPARKFN_STORE: `file://${dir}`,
  SPARKFN_LOG_LEVEL: 'warn',
  SPARKFN_WEBHOOK_TOKEN: 'edge-bench-token-0123456789',
  SPARKFN_WEBHOOK_HMAC_SECRET: 'edge-bench-secret-0123456789',
  SPARKFN_HTTP_BODY_TIMEOUT_MS: '2000',
  SPARKFN_HTTP_HEADERS_TIMEOUT_MS: '3000',
  SPARKFN_HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
});
const rows = [];
try {
  for (let round = 1; round <= ROUNDS; round++) {
    const r = await runFlood({ port: serve.port, connections: CONNECTIONS, bodyLimitBytes: BODY_LIMIT, giveUpMs: REQUEST_TIMEOUT_MS + 25_000, rss: serve.rss, cpuMs: serve.cpuMs });
    rows.push({
      round,
      'idle p50 ms': r.healthIdle.p50Ms.toFixed(1),
      'idle p99 ms': r.healthIdle.p99Ms.toFixed(1),
      'load p50 ms': r.healthUnderLoad.p50Ms.toFixed(1),
      'load p99 ms': r.healthUnderLoad.p99Ms.toFixed(1),
      'p99 ratio': (r.healthUnderLoad.p99Ms / r.healthIdle.p99Ms).toFixed(2),
      probes: r.healthUnderLoad.count,
      'probe failures': r.healthUnderLoad.failures,
      'server loop p99 ms': r.serverLoopDelay.p99Ms.toFixed(1),
      'server loop max ms': r.serverLoopDelay.maxMs.toFixed(1),
      'server CPU ms': Math.round(r.serverCpuMs),
      'flood wall ms': Math.round(r.floodWallMs),
      'RSS growth MB': ((r.rssPeakBytes - r.rssBeforeBytes) / MIB).toFixed(1),
      'slowest close ms': Math.round(r.slowestCloseMs),
      ends: JSON.stringify(r.byEnd),
    });
  }
} finally {
  await serve.stop();
  await rm(dir, { recursive: true, force: true });
}
console.log(`${CONNECTIONS} hostile connections per round; goals: load p99 < 100 ms, RSS growth ≤ 50 MB, ends only 401/408/413/closed`);
console.table(rows);
