// Plain JavaScript on purpose: this file runs before anything can compile TypeScript.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The repository (or installed package) root. */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Where compiled copies live (git-ignored): one folder per compile, and the manifest of the current one. */
export const CACHE_DIR = join(ROOT, '.cache', 'sparkfn-cli');
const MANIFEST = join(CACHE_DIR, 'current.json');
/** Copies other than the current one are removed once this old, not at once: a running `serve` may still load a chunk from one. */
const STALE_COPY_MS = 24 * 3600 * 1000;
const ENTRY = 'app/cli/main.ts';
/** Packages compiled into the copy rather than loaded from node_modules. */
const BUNDLED = ['commander'];

/** Every package package.json names (and their subpaths), for esbuild to leave to node_modules. */
function dependencies() {
  const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  const names = Object.keys({ ...manifest.dependencies, ...manifest.devDependencies, ...manifest.optionalDependencies });
  return names.flatMap((name) => [name, `${name}/*`]);
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
      return { contents: source.includes('import.meta.url') ? source.replaceAll('import.meta.url', url) : source, loader: 'ts' };
    });
  },
};

/** Size and modification time of a source, or undefined when it is gone. */
function stamp(path) {
  const stat = statSync(join(ROOT, path), { throwIfNoEntry: false });
  return stat ? [stat.size, stat.mtimeMs] : undefined;
}

/**
 * Whether the copy a manifest names was compiled from the sources as they are now: every file
 * that went into it has the size and modification time it had. A file that nothing imports
 * cannot change the copy; a new import changes the importing file.
 */
function isCurrent(manifest) {
  return manifest.inputs.every(([path, size, mtimeMs]) => {
    const now = stamp(path);
    return now !== undefined && now[0] === size && now[1] === mtimeMs;
  });
}

function readManifest() {
  try {
    return JSON.parse(readFileSync(MANIFEST, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Compiles the CLI into a new folder and, unless a source changed meanwhile, makes it the current copy. */
async function compile() {
  const { build } = await import('esbuild');
  const started = Date.now();
  const dir = `${started}-${process.pid}`;
  const result = await build({
    entryPoints: { main: join(ROOT, ENTRY) },
    outdir: join(CACHE_DIR, dir),
    absWorkingDir: ROOT,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    outExtension: { '.js': '.mjs' },
    // Dependencies load from node_modules as they are, except commander, which every start needs:
    // compiled in, it costs no module resolution and no CommonJS loader.
    external: dependencies().filter((name) => !BUNDLED.includes(name)),
    banner: { js: "import { createRequire as __sparkfnCreateRequire } from 'node:module';const require = __sparkfnCreateRequire(import.meta.url);" },
    sourcemap: 'linked',
    metafile: true,
    logLevel: 'silent',
    plugins: [sourceImportMetaUrl],
  });
  const inputs = Object.keys(result.metafile.inputs).map((path) => [relative(ROOT, join(ROOT, path)), ...(stamp(path) ?? [-1, -1])]);
  const manifest = { dir, inputs };
  // A source saved while esbuild read it may be in the copy as it was before: then the copy is
  // used this once and the next start compiles again.
  if (inputs.every(([, , mtimeMs]) => mtimeMs < started)) {
    const partial = `${MANIFEST}.${process.pid}`;
    writeFileSync(partial, JSON.stringify(manifest));
    renameSync(partial, MANIFEST);
  }
  return manifest;
}

function removeStaleCopies(keep) {
  for (const name of readdirSync(CACHE_DIR)) {
    if (name === keep || name.startsWith('current.json')) continue;
    try {
      if (Date.now() - statSync(join(CACHE_DIR, name)).mtimeMs > STALE_COPY_MS) rmSync(join(CACHE_DIR, name), { recursive: true, force: true });
    } catch {
      // Removed by another process meanwhile.
    }
  }
}

/** The compiled CLI for the current sources, compiling it when there is none; undefined when it cannot be. */
async function compiledMain() {
  try {
    let manifest = readManifest();
    if (!manifest || !isCurrent(manifest)) {
      mkdirSync(CACHE_DIR, { recursive: true });
      manifest = await compile();
      removeStaleCopies(manifest.dir);
    }
    return await import(pathToFileURL(join(CACHE_DIR, manifest.dir, 'main.mjs')).href);
  } catch {
    return undefined;
  }
}

/**
 * Runs `sparkfn` with `argv` and resolves to its exit code: from the compiled copy of the CLI
 * (.cache/sparkfn-cli/, compiled on the first start after a source changed), or, where esbuild is
 * not installed or the compile fails, from the TypeScript sources through tsx.
 */
export async function launch(argv) {
  let cli = await compiledMain();
  if (!cli) {
    const { register } = await import('tsx/esm/api');
    register();
    cli = await import('./main.ts');
  }
  return cli.main(argv);
}
