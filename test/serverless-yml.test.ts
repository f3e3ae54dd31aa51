import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { functions } from '../functions/index.js';

const root = join(import.meta.dirname, '..');
const manifest = parse(readFileSync(join(root, 'serverless.yml'), 'utf8')) as {
  provider: { name: string; runtime: string };
  package?: { individually?: boolean };
  functions: Record<string, { handler: string; package?: { artifact?: string }; events?: Record<string, unknown>[] }> | null;
};
const declared = manifest.functions ?? {};
const folders = readdirSync(join(root, 'functions')).filter((name) => statSync(join(root, 'functions', name)).isDirectory());

describe('serverless.yml', () => {
  it('targets the aws provider on a Node 20 runtime', () => {
    expect(manifest.provider.name).toBe('aws');
    expect(manifest.provider.runtime).toBe('nodejs20.x');
  });

  it('declares every function folder, and nothing else', () => {
    expect(Object.keys(declared).sort()).toEqual([...folders].sort());
  });

  it('declares every registered function', () => {
    expect(Object.keys(declared).sort()).toEqual(functions.map((f) => f.name).sort());
  });

  it.each(Object.entries(declared))('%s: deploys the zip npm run build writes for it (package.artifact, packaged individually)', (name, spec) => {
    expect(manifest.package?.individually).toBe(true);
    expect(spec.package?.artifact).toBe(`dist/lambda/${name}.zip`);
  });

  it.each(Object.entries(declared))('%s: its handler resolves to an exported function', async (name, spec) => {
    const match = /^(.+)\.([A-Za-z_$][\w$]*)$/.exec(spec.handler);
    expect(match, `handler ${spec.handler} is <file>.<export>`).not.toBeNull();
    expect(match![1]).toBe(`functions/${name}/lambda`);
    const module = (await import(join(root, `${match![1]}.ts`))) as Record<string, unknown>;
    expect(typeof module[match![2]!]).toBe('function');
  });
});
