import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demo } from '../../functions/janitor/demo.js';
import { loadConfig } from '../../shared/config.js';
import { main } from '../../app/cli/main.js';
import { createDeps } from '../../shared/platform/runtime.js';
import { silentLogger } from '../../shared/logger.js';
import { startTestApiserver, type TestApiserver } from '../support/apiserver/index.js';
import { appObjects, clusterRefs, HOUR } from './cluster.js';

let server: TestApiserver;
let dir: string;
beforeAll(async () => {
  server = await startTestApiserver();
  dir = await mkdtemp(join(tmpdir(), 'janitor-cli-'));
});
afterAll(async () => {
  await server.stop();
  await rm(dir, { recursive: true, force: true });
});

async function sparkfn(args: string[], env: Record<string, string>) {
  let out = '';
  let err = '';
  const code = await main(['node', 'sparkfn', ...args], { out: (t) => (out += t), err: (t) => (err += t), env, stdin: Readable.from([]) });
  return { code, out, err };
}

describe('sparkfn janitor', () => {
  it('--dry-run prints a table of what would go, deletes nothing, and --namespace narrows it', async () => {
    // The CLI runs on the real clock: finished two days ago, past the default 1 h TTL.
    for (const namespace of ['spark-a', 'spark-b']) {
      for (const o of appObjects({ namespace, appId: `spark-cli-${namespace}`, driverPhase: 'Succeeded', finishedAt: Date.now() - 48 * HOUR, executors: 3, configmaps: 1, services: 1 })) server.put(o);
    }
    const before = clusterRefs(server);
    const env = { SPARKFN_K8S_URL: server.url, SPARKFN_K8S_TOKEN: server.token, SPARKFN_STORE: `file://${dir}`, SPARKFN_LOG_LEVEL: 'silent', SPARKFN_JANITOR_QPS: '0' };

    const dry = await sparkfn(['janitor', '--dry-run', '--namespace', 'spark-a'], env);

    expect(dry.err).toBe('');
    expect(dry.code).toBe(0);
    expect(dry.out).toMatch(/janitor dry run \(nothing deleted\)/);
    expect(dry.out).toMatch(/namespace\s+app\s+why\s+kind\s+how\s+objects\s+would delete/);
    expect(dry.out).toMatch(/spark-a\s+spark-cli-spark-a\s+finished, ttl 1h \(default\)\s+executor-pods\s+dry-run\s+3/);
    expect(dry.out).not.toMatch(/spark-b/);
    expect(dry.out).toMatch(/audit: audit\/janitor\/dt=\d{4}-\d{2}-\d{2}\//);
    expect(clusterRefs(server)).toEqual(before);

    const real = await sparkfn(['janitor'], env);
    expect(real.code).toBe(0);
    expect(real.out).toMatch(/objects deleted: 12/);
    expect(clusterRefs(server).size).toBe(0);
  });

  it('says janitor needs a cluster when none is configured', async () => {
    const result = await sparkfn(['janitor'], { SPARKFN_STORE: `file://${dir}`, KUBECONFIG: '' , HOME: dir });
    expect(result.code).toBe(2);
    expect(result.err).toMatch(/janitor needs a cluster/);
  });

  it('in the demo, says in one line that it needs a cluster when there is none', async () => {
    let out = '';
    const config = loadConfig({ SPARKFN_STORE: `file://${dir}` });
    await demo({ ...config, KUBECONFIG: undefined }, createDeps(config, { logger: silentLogger }), (t) => (out += t));
    // No cluster unless this machine has a kubeconfig or a service account; either way the demo deletes nothing.
    expect(out).toMatch(/janitor: (needs a cluster|dry run against)/);
  });
});
