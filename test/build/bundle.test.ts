import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { unzipSync } from 'fflate';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleFunction, discoverFunctions, MAX_BUNDLE_BYTES, OPTIONAL_EXTERNALS, type BundleResult } from '../../app/build/bundle.js';
import { runProbe } from '../../app/build/run-probe.js';
import { SAMPLES, sampleFile } from '../../app/build/samples.js';

const root = join(import.meta.dirname, '..', '..');
// These bundles go to the repo's own (git-ignored) dist/, where `npm run build` writes them.
const built: BundleResult[] = [];
const stores: string[] = [];

function freshStore(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sparkfn-bundle-'));
  stores.push(dir);
  return dir;
}

/** A copy of the bundle directory outside the repo, so nothing can resolve from its node_modules. */
function deployed(b: BundleResult): string {
  const dir = freshStore();
  cpSync(b.dir, dir, { recursive: true });
  return join(dir, basename(b.file));
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
}

describe('npm run build', () => {
  beforeAll(async () => {
    // The smallest function on both platforms, and the largest (Kubernetes client and S3 SDK) on both.
    for (const [name, target] of [
      ['log-archiver', 'lambda'],
      ['log-archiver', 'fc'],
      ['job-cost', 'lambda'],
      ['quota-retry', 'lambda'],
      ['quota-retry', 'fc'],
    ] as const) {
      built.push(await bundleFunction(name, target));
    }
  });

  afterAll(() => {
    for (const dir of stores) rmSync(dir, { recursive: true, force: true });
  });

  it('finds every function folder with a Lambda entry point', () => {
    expect(discoverFunctions()).toEqual(['janitor', 'job-cost', 'log-archiver', 'log-viewer', 'quota-retry', 'spark-monitor', 'spot-fallback']);
    expect(Object.keys(SAMPLES).sort()).toEqual(discoverFunctions());
  });

  it('writes each bundle, every file with its source map, under dist/<target>/<name>/, within 2 MB in all', () => {
    for (const b of built) {
      expect(b.dir).toBe(join(root, 'dist', b.target, b.name));
      for (const file of [b.file, ...b.chunks]) {
        expect(existsSync(`${file}.map`), file).toBe(true);
        expect(readFileSync(file, 'utf8').endsWith(`//# sourceMappingURL=${basename(file)}.map\n`), file).toBe(true);
      }
      expect(b.entryBytes).toBeGreaterThan(100_000);
      expect(b.bytes).toBeGreaterThanOrEqual(b.entryBytes);
      expect(b.bytes, `${b.target}/${b.name}`).toBeLessThanOrEqual(MAX_BUNDLE_BYTES);
    }
  });

  it('leaves only Node built-ins, the copied native package and declared optional requires to the runtime', () => {
    for (const b of built) {
      const outside = b.externals.filter((path) => !path.startsWith('node:') && !builtinModules.includes(path) && !b.native.includes(path) && !(path in OPTIONAL_EXTERNALS));
      expect(b.externals.length, `${b.target}/${b.name}`).toBeGreaterThan(0);
      expect(outside, `${b.target}/${b.name}`).toEqual([]);
      // No absolute path of this checkout (events/, README) is baked into the code.
      for (const file of [b.file, ...b.chunks]) expect(readFileSync(file, 'utf8'), file).not.toContain(root);
    }
  });

  it('copies lz4-napi and its linux-x64 binary next to the bundle that decodes lz4 event logs, and only there', () => {
    const jobCost = built.find((b) => b.name === 'job-cost')!;
    expect(jobCost.native).toEqual(['lz4-napi']);
    expect(walk(join(jobCost.dir, 'node_modules')).some((f) => f.endsWith('lz4-napi.linux-x64-gnu.node'))).toBe(true);
    expect(built.find((b) => b.name === 'log-archiver')!.native).toEqual([]);
    expect(existsSync(join(built.find((b) => b.name === 'log-archiver')!.dir, 'node_modules'))).toBe(false);
  });

  it('marks the FC bundle CommonJS, so `index.handler` is exports.handler', () => {
    const fc = built.find((b) => b.target === 'fc')!;
    expect(JSON.parse(readFileSync(join(fc.dir, 'package.json'), 'utf8'))).toEqual({ type: 'commonjs' });
  });

  it('archives a Lambda self-managed Kafka batch end to end from the log-archiver bundle in a fresh process', () => {
    const bundle = built.find((b) => b.name === 'log-archiver' && b.target === 'lambda')!;
    const store = freshStore();
    const probe = runProbe({ bundle: deployed(bundle), target: 'lambda', event: sampleFile(SAMPLES['log-archiver']!.lambda), env: { SPARKFN_STORE: `file://${store}` } });

    expect(probe.handlerType).toBe('function');
    expect(probe.error).toBeUndefined();
    expect(probe.result).toMatchObject({ kind: 'archive', records: 3, archived: 3, deadLettered: 0 });
    const chunks = walk(join(store, 'logs'));
    expect(chunks.map((f) => f.slice(store.length)).sort()).toEqual([
      '/logs/spark-4f9c2e7a1b3d4c5e8f6a7b8c9d0e1f2a/1/stderr/spark-logs-0-00000000000000001283-00000000000000001284.log.gz',
      '/logs/spark-4f9c2e7a1b3d4c5e8f6a7b8c9d0e1f2a/2/stdout/spark-logs-2-00000000000000000977-00000000000000000977.log.gz',
    ]);
    expect(gunzipSync(readFileSync(chunks[0]!)).toString('utf8').length).toBeGreaterThan(0);
  });

  it('archives the FC EventBridge Kafka delivery from the FC bundle, loaded with require() as FC does', () => {
    const bundle = built.find((b) => b.name === 'log-archiver' && b.target === 'fc')!;
    const store = freshStore();
    const probe = runProbe({ bundle: deployed(bundle), target: 'fc', event: sampleFile(SAMPLES['log-archiver']!.fc), env: { SPARKFN_STORE: `file://${store}` } });

    expect(probe.result).toMatchObject({ kind: 'archive', records: 3, archived: 3 });
    expect(walk(join(store, 'logs'))).toHaveLength(2);
  });

  it.each([
    ['job-cost', 'lambda', { ends: 0, unresolved: 1, failed: 0 }],
    ['quota-retry', 'lambda', { trigger: 'drain', received: 0, admitted: 0, deadLettered: 0 }],
  ] as const)('%s (%s): the bundle exports handler and handles its sample event', (name, target, expected) => {
    const bundle = built.find((b) => b.name === name && b.target === target)!;
    const sample = SAMPLES[name]![target];
    const probe = runProbe({ bundle: deployed(bundle), target, event: sampleFile(sample), env: { SPARKFN_STORE: `file://${freshStore()}`, ...sample.env } });

    expect(probe.handlerType).toBe('function');
    expect(probe.error).toBeUndefined();
    expect(probe.result).toMatchObject(expected);
  });

  it.each(['lambda', 'fc'] as const)('keeps @kubernetes/client-node in a chunk that only a cluster call loads (quota-retry, %s)', (target) => {
    const bundle = built.find((b) => b.name === 'quota-retry' && b.target === target)!;
    const kubeChunks = bundle.chunks.filter((file) => basename(file).startsWith('client-node'));
    expect(kubeChunks).toHaveLength(1);
    expect(bundle.bytes - bundle.entryBytes).toBeGreaterThan(1_000_000);

    // Without that chunk the bundle still imports, and a drain with no cluster configured still runs.
    const entry = deployed(bundle);
    rmSync(join(dirname(entry), relative(bundle.dir, kubeChunks[0]!)));
    const sample = SAMPLES['quota-retry']![target];
    const probe = runProbe({ bundle: entry, target, event: sampleFile(sample), env: { SPARKFN_STORE: `file://${freshStore()}`, ...sample.env } });
    expect(probe.handlerType).toBe('function');
    expect(probe.error).toBeUndefined();
    expect(probe.result).toMatchObject({ trigger: 'drain', received: 0 });
  });

  it('writes the Lambda zip serverless.yml deploys: the handler file its handler names, running from outside the repo', () => {
    const jobCost = built.find((b) => b.name === 'job-cost' && b.target === 'lambda')!;
    const manifest = parse(readFileSync(join(root, 'serverless.yml'), 'utf8')) as { functions: Record<string, { handler: string; package: { artifact: string } }> };
    const spec = manifest.functions['job-cost']!;
    expect(jobCost.artifact).toBe(join(root, spec.package.artifact));

    const entries = unzipSync(readFileSync(jobCost.artifact!));
    const handlerFile = `${spec.handler.slice(0, spec.handler.lastIndexOf('.'))}.mjs`;
    expect(handlerFile).toBe('functions/job-cost/lambda.mjs');
    expect(Buffer.from(entries[handlerFile]!).toString('utf8')).toMatch(/\/\/# sourceMappingURL=lambda\.mjs\.map\s*$/);
    expect(entries['functions/job-cost/lambda.mjs.map']).toBeDefined();
    // The chunks keep their names and their place beside the entry file, which imports them by relative path.
    expect(jobCost.chunks.length).toBeGreaterThan(0);
    for (const chunk of jobCost.chunks) {
      const path = `functions/job-cost/chunks/${basename(chunk)}`;
      expect(Buffer.from(entries[path]!).equals(readFileSync(chunk)), path).toBe(true);
      expect(entries[`${path}.map`], `${path}.map`).toBeDefined();
    }
    expect(Object.keys(entries).some((path) => path.startsWith('node_modules/lz4-napi/'))).toBe(true);

    // Unzipped the way Lambda lays out /var/task, and loaded by the path the handler names.
    const task = freshStore();
    for (const [path, bytes] of Object.entries(entries)) {
      mkdirSync(dirname(join(task, path)), { recursive: true });
      writeFileSync(join(task, path), bytes);
    }
    const sample = SAMPLES['job-cost']!.lambda;
    const probe = runProbe({ bundle: join(task, handlerFile), target: 'lambda', event: sampleFile(sample), env: { SPARKFN_STORE: `file://${freshStore()}`, ...sample.env } });
    expect(probe.handlerType).toBe('function');
    expect(probe.error).toBeUndefined();
    expect(probe.result).toMatchObject({ ends: 0, unresolved: 1, failed: 0 });
  });

  it('fails the invocation, not the import, when the configuration is wrong', () => {
    const bundle = built.find((b) => b.name === 'log-archiver' && b.target === 'lambda')!;
    const probe = runProbe({ bundle: deployed(bundle), target: 'lambda', event: sampleFile(SAMPLES['log-archiver']!.lambda), env: { SPARKFN_STORE: 'ftp://nowhere' } });

    expect(probe.handlerType).toBe('function');
    expect(probe.error).toMatchObject({ name: 'ConfigError' });
    expect(probe.error!.message).toContain('SPARKFN_STORE');
  });
});
