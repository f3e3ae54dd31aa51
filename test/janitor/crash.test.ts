import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../functions/janitor/audit.js';
import { FileObjectStore } from '../../shared/store/fs-store.js';
import { getBuffer, listAll } from '../../shared/store/read.js';
import { startTestApiserver, type TestApiserver } from '../support/apiserver/index.js';
import { clusterRefs, NOW, ref, type ObjectRef } from './cluster.js';
import { buildScenario } from './scenario.js';

const CHILD = fileURLToPath(new URL('./crash-child.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Runs are this far apart: past complete-audit.ts's ABANDONED_AFTER_MS, as the next timer runs after a dead one. */
const RUN_SPACING_MS = 31 * 60_000;
const CHILD_TIMEOUT_MS = 60_000;

/** Where a run is killed: at its n-th deletecollection, before the call reaches the apiserver or after it was carried out (its answer lost). */
interface Kill {
  at: number;
  when: 'before-call' | 'after-answer';
}
const KILLS: Kill[] = [
  { at: 5, when: 'after-answer' },
  { at: 3, when: 'before-call' },
  { at: 9, when: 'after-answer' },
  { at: 2, when: 'after-answer' },
];

const RESOURCE_KIND: Record<string, string> = {
  'executor-pods': 'Pod',
  'driver-pod': 'Pod',
  configmaps: 'ConfigMap',
  services: 'Service',
  ingresses: 'Ingress',
  sparkapplication: 'SparkApplication',
};

/**
 * Between janitor and the test apiserver: forwards every request, and at the planned
 * deletecollection SIGKILLs the child instead of forwarding it, or once the apiserver carried it out.
 */
function startProxy(upstream: string, state: { child?: ChildProcess; kill?: Kill; deletes: number }): Promise<Server> {
  const proxy = createServer((req, res) => {
    const isCollectionDelete = req.method === 'DELETE' && (req.url ?? '').includes('labelSelector=');
    const n = isCollectionDelete ? ++state.deletes : 0;
    const killHere = state.kill && n === state.kill.at ? state.kill.when : undefined;
    if (killHere === 'before-call') {
      state.child?.kill('SIGKILL');
      res.destroy();
      return;
    }
    const forward = request(`${upstream}${req.url}`, { method: req.method, headers: req.headers }, (answer) => {
      const chunks: Buffer[] = [];
      answer.on('data', (c: Buffer) => chunks.push(c));
      answer.on('end', () => {
        if (killHere === 'after-answer') {
          state.child?.kill('SIGKILL');
          res.destroy();
          return;
        }
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        res.end(Buffer.concat(chunks));
      });
    });
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  return new Promise((resolve) => proxy.listen(0, '127.0.0.1', () => resolve(proxy)));
}

describe('janitor killed mid-run', () => {
  let server: TestApiserver;
  let proxy: Server;
  let storeDir: string;
  const state: { child?: ChildProcess; kill?: Kill; deletes: number } = { deletes: 0 };

  beforeAll(async () => {
    server = await startTestApiserver({ seed: 4 });
    proxy = await startProxy(server.url, state);
    storeDir = await mkdtemp(join(tmpdir(), 'janitor-crash-'));
  });
  afterAll(async () => {
    state.child?.kill('SIGKILL');
    await new Promise<void>((resolve) => proxy.close(() => resolve()));
    await server.stop();
    await rm(storeDir, { recursive: true, force: true });
  });

  async function runChild(index: number, kill?: Kill): Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }> {
    state.deletes = 0;
    state.kill = kill;
    const url = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify({ url, token: server.token, storeDir, nowMs: NOW + index * RUN_SPACING_MS })], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    state.child = child;
    let output = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_TIMEOUT_MS);
    const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (c, s) => resolve({ code: c, signal: s })));
    clearTimeout(timer);
    return { code, signal, output };
  }

  it(`audits every deletion exactly once across ${KILLS.length} runs SIGKILLed in a call and the runs after them`, async () => {
    const scenario = buildScenario({ finished: 40, running: 5, orphans: 4 });
    for (const o of scenario.objects) server.put(o);
    const before = clusterRefs(server);

    for (const [index, kill] of KILLS.entries()) {
      const died = await runChild(index, kill);
      expect(died.signal, `run ${index} was to be killed at deletecollection #${kill.at} (${kill.when})`).toBe('SIGKILL');
      expect(died.output).not.toContain('@@ done');
    }
    const last = await runChild(KILLS.length);
    expect(last).toMatchObject({ code: 0, signal: null });
    const summary = JSON.parse(last.output.slice(last.output.indexOf('@@ done ') + 8)) as { auditsCompleted: number };
    // The runs killed after the first completed the audit of the one before them; this one completes the last.
    expect(summary.auditsCompleted).toBe(1);
    const again = await runChild(KILLS.length + 1);
    expect(again).toMatchObject({ code: 0 });
    expect(JSON.parse(again.output.slice(again.output.indexOf('@@ done ') + 8))).toMatchObject({ deleted: 0, auditsCompleted: 0 });

    const after = clusterRefs(server);
    const deleted = [...before].filter((r) => !after.has(r)).sort();
    for (const expected of scenario.expected) expect(deleted).toContain(expected);

    const store = new FileObjectStore(storeDir);
    const records: AuditRecord[] = [];
    const wal: string[] = [];
    for await (const o of listAll(store, 'audit/janitor/')) {
      if (o.key.startsWith('audit/janitor/wal/')) wal.push(o.key);
      else records.push(JSON.parse((await getBuffer(store, o.key)).toString('utf8')) as AuditRecord);
    }
    expect(wal, 'no write-ahead log is left').toEqual([]);
    expect(records).toHaveLength(KILLS.length + 2);
    expect(records.filter((r) => r.completedBy)).toHaveLength(KILLS.length);

    const audited = new Map<ObjectRef, number>();
    for (const record of records) {
      for (const app of record.apps) {
        for (const k of app.kinds) for (const name of k.deleted) audited.set(ref(RESOURCE_KIND[k.kind]!, app.namespace, name), (audited.get(ref(RESOURCE_KIND[k.kind]!, app.namespace, name)) ?? 0) + 1);
      }
    }
    const twice = [...audited].filter(([, n]) => n > 1).map(([r]) => r);
    const unaudited = deleted.filter((r) => !audited.has(r));
    const notDeleted = [...audited.keys()].filter((r) => !deleted.includes(r));
    expect({ twice, unaudited, notDeleted }).toEqual({ twice: [], unaudited: [], notDeleted: [] });
    expect(audited.size).toBe(deleted.length);
    // The killed runs really did delete (the answer-lost calls), and their records say so.
    expect(records.filter((r) => r.completedBy).reduce((n, r) => n + (r.counts.deleted ?? 0), 0)).toBeGreaterThan(0);
  }, 300_000);
});
