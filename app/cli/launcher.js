// Plain JavaScript on purpose: this file runs before anything can compile TypeScript.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The repository (or installed package) root. */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Folders whose TypeScript the CLI is made of. */
const SOURCE_DIRS = ['app', 'shared', 'functions'];
/** Where compiled copies live, one folder per hash of the sources (git-ignored). */
export const CACHE_DIR = join(ROOT, '.cache', 'sparkfn-cli');
/** Copies of older sources are removed once this old, not at once: a running `serve` may still load a chunk from one. */
const STALE_COPY_MS = 24 * 3600 * 1000;
const ENTRY = 'app/cli/main.ts';

function sourceFiles(dir, files) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) sourceFiles(path, files);
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) files.push(path);
  }
  return files;
}

/** A hash of every source file's path and content, and of package.json (dependency versions). */
export function sourceHash() {
  const hash = createHash('sha256');
  const files = SOURCE_DIRS.flatMap((dir) => sourceFiles(join(ROOT, dir), [])).sort();
  for (const file of [join(ROOT, 'package.json'), ...files]) {
    hash.update(relative(ROOT, file));
    hash.update('\0');
    hash.update(readFileSync(file));
    hash.update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}

/**
 * esbuild plugin: a module's `import.meta.url` is its source file's URL, not the compiled
 * chunk's, so paths derived from it (events/, package.json, deploy/) still resolve.
 */
const sourceImportMetaUrl = {
  name: 'source-import-meta-url',
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      const url = JSON.stringify(pathToFileURL(args.path).href);
      const contents = source.includes('import.meta.url') ? source.replaceAll('import.meta.url', url) : source;
      return { contents, loader: 'ts' };
    });
  },
};

/** Compiles the CLI into `dir` (written beside it, then renamed, so a reader never sees half a copy). */
async function compile(dir) {
  const { build } = await import('esbuild');
  const partial = `${dir}.partial-${process.pid}`;
  await build({
    entryPoints: { main: join(ROOT, ENTRY) },
    outdir: partial,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    outExtension: { '.js': '.mjs' },
    // Dependencies load from node_modules as they are; only this repository's sources are compiled.
    packages: 'external',
    sourcemap: 'linked',
    logLevel: 'silent',
    plugins: [sourceImportMetaUrl],
  });
  try {
    renameSync(partial, dir);
  } catch (err) {
    // Another process compiled the same sources first: its copy is the same.
    rmSync(partial, { recursive: true, force: true });
    if (!existsSync(dir)) throw err;
  }
}

function removeStaleCopies(keep) {
  for (const name of readdirSync(CACHE_DIR)) {
    const path = join(CACHE_DIR, name);
    if (name === keep) continue;
    try {
      if (Date.now() - statSync(path).mtimeMs > STALE_COPY_MS) rmSync(path, { recursive: true, force: true });
    } catch {
      // Removed by another process meanwhile.
    }
  }
}

/** The compiled CLI for the current sources, compiling it when there is none; undefined when it cannot be. */
async function compiledMain() {
  try {
    const hash = sourceHash();
    const dir = join(CACHE_DIR, hash);
    const entry = join(dir, 'main.mjs');
    if (!existsSync(entry)) {
      mkdirSync(CACHE_DIR, { recursive: true });
      await compile(dir);
      removeStaleCopies(hash);
    }
    return await import(pathToFileURL(entry).href);
  } catch {
    return undefined;
  }
}

/** Runs `sparkfn` with `argv` and resolves to its exit code. */
export async function launch(argv) {
  let cli = await compiledMain();
  if (!cli) {
    const { register } = await import('tsx/esm/api');
    register();
    cli = await import('./main.ts');
  }
  return cli.main(argv);
}
