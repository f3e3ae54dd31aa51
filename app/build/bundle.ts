// `npm run build`: one self-contained bundle per function and platform, with esbuild.
//   dist/lambda/<name>/index.mjs   AWS Lambda nodejs20.x, ESM (handler `index.handler`)
//   dist/fc/<name>/index.js        Alibaba FC nodejs20, CommonJS `exports.handler` (handler `index.handler`)
// each beside chunks/, the code it loads only when first needed (the Kubernetes client), every
// file with its source map, and node_modules/ holding only the native packages left external.
//   dist/lambda/<name>.zip         the same Lambda bundle laid out for serverless.yml's handler
//                                  `functions/<name>/lambda.handler` (package.artifact)
import { build, type BuildOptions, type Metafile, type Plugin } from 'esbuild';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, extname, join, relative, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { zipFiles } from '../deploy/zip-folder.js';

export const ROOT = join(import.meta.dirname, '..', '..');
export const DIST = join(ROOT, 'dist');

export type Target = 'lambda' | 'fc';
export const TARGETS: readonly Target[] = ['lambda', 'fc'];

/** The goal issue 8 sets for each bundle's code: all its JavaScript, entry file and chunks. */
export const MAX_BUNDLE_BYTES = 2 * 1024 * 1024;

/**
 * Native packages: they cannot be bundled, so they stay external and are copied next to the
 * bundle with the binary for the platforms' CPU (Lambda x86_64 and FC are linux-x64 glibc).
 * The code that needs them imports them lazily, so only that path pays for loading them.
 */
const NATIVE_PACKAGES: Readonly<Record<string, readonly string[]>> = {
  'lz4-napi': ['lz4-napi', '@antoniomuso/lz4-napi-linux-x64-gnu'],
};

/**
 * Optional packages a dependency require()s inside try/catch and that are not installed: left
 * external on purpose (the dependency copes with their absence), each with the reason.
 */
export const OPTIONAL_EXTERNALS: Readonly<Record<string, string>> = {
  encoding: "node-fetch 2's Response.textConverted(), which @kubernetes/client-node never calls",
};

interface TargetSpec {
  entry: string;
  /** The file the platform loads, in the bundle's directory. */
  outfile: string;
  format: 'esm' | 'cjs';
  /**
   * esbuild's code splitting: each `import()` becomes a chunk of its own, read and compiled only
   * when first called (shared/k8s/load-client.ts), and code the entry shares with chunks goes to
   * chunks it imports. ES modules only; a CommonJS bundle gets its chunks from lazyModulesAsChunks.
   */
  splitting: boolean;
}

const SPECS: Readonly<Record<Target, TargetSpec>> = {
  // Lambda loads index.mjs as an ES module (nodejs18.x and later).
  lambda: { entry: 'lambda.ts', outfile: 'index.mjs', format: 'esm', splitting: true },
  // FC's Node.js runtime require()s the handler file; CommonJS `exports.handler` is what every
  // FC Node.js runtime loads.
  fc: { entry: 'fc.ts', outfile: 'index.js', format: 'cjs', splitting: false },
};

/** Where a bundle's chunks go, beside the entry file. */
const CHUNKS_DIR = 'chunks';

/** One built bundle. */
export interface BundleResult {
  name: string;
  target: Target;
  dir: string;
  /** The file the platform loads; its `handler` export is the entry point. */
  file: string;
  /** The files under chunks/: code loaded on demand, and (Lambda) code the entry shares with it. */
  chunks: string[];
  /**
   * Bytes of the entry file. A Lambda cold start also loads the chunks it imports statically
   * (code it shares with the lazy chunks); the lazy ones wait for their first `import()`.
   */
  entryBytes: number;
  /** Bytes of all the bundle's JavaScript, entry and chunks: what MAX_BUNDLE_BYTES limits. */
  bytes: number;
  /** Bytes of the source maps beside them (not loaded at run time). */
  mapBytes: number;
  /** Native packages copied into the bundle's node_modules. */
  native: string[];
  /** Every import the bundle left to the runtime: Node built-ins and the native packages. */
  externals: string[];
  /** Lambda only: the zip serverless.yml deploys (`package.artifact`), see lambdaArtifact. */
  artifact?: string;
}

/** Every function with a platform entry point: functions/<name>/lambda.ts (and fc.ts). */
export function discoverFunctions(root = ROOT): string[] {
  const dir = join(root, 'functions');
  return readdirSync(dir)
    .filter((name) => statSync(join(dir, name)).isDirectory() && existsSync(join(dir, name, 'lambda.ts')))
    .sort();
}

/**
 * Modules a dependency requires at load time for a feature sparkfn never uses, replaced in the
 * bundle by a stand-in (each would otherwise cost its size in every bundle that has the parent).
 */
const STUBS: Readonly<Record<string, { why: string; contents: string }>> = {
  // node-fetch 2 (under @kubernetes/client-node) takes `Url.URL || whatwgUrl.URL`, and Node always
  // has the first: whatwg-url and its 250 KB of Unicode tables are never reached.
  'whatwg-url': { why: 'Node has URL', contents: 'module.exports = {};' },
  // prom-client reads trace context only for default metrics with exemplars; shared/metrics.ts
  // registers no default metrics.
  '@opentelemetry/api': {
    why: 'prom-client default-metric exemplars are not used',
    contents: "module.exports = new Proxy({}, { get(_, key) { if (key === '__esModule') return undefined; throw new Error('@opentelemetry/api is not in this bundle (prom-client exemplars are not used by sparkfn)'); } });",
  },
  // client-node's legacy `auth-provider: azure | gcp` with a `cmd-path` reads the command's token
  // with a JSONPath; kubectl dropped both providers in 1.26 for exec plugins (kubelogin,
  // gke-gcloud-auth-plugin), which client-node runs without it.
  'jsonpath-plus': {
    why: 'legacy azure/gcp auth-provider cmd-path tokens are not supported (use an exec plugin)',
    contents: "module.exports = { JSONPath() { throw new Error('kubeconfig auth-provider azure/gcp with cmd-path is not supported in this bundle; use an exec credential plugin (kubelogin, gke-gcloud-auth-plugin)'); } };",
  },
  // pino's worker-thread transports need files on disk; shared/logger.ts writes to a file descriptor.
  'thread-stream': {
    why: 'pino transports are not used',
    contents: "module.exports = function ThreadStream() { throw new Error('pino transports are not in this bundle (shared/logger.ts writes to a file descriptor)'); };",
  },
};

const stubUnused: Plugin = {
  name: 'stub-unused',
  setup(b) {
    const filter = new RegExp(`^(${Object.keys(STUBS).map((n) => n.replace(/[/.]/g, '\\$&')).join('|')})$`);
    b.onResolve({ filter }, (args) => ({ path: args.path, namespace: 'sparkfn-stub' }));
    b.onLoad({ filter: /.*/, namespace: 'sparkfn-stub' }, (args) => ({ contents: STUBS[args.path]!.contents, loader: 'js' }));
  },
};

/**
 * @kubernetes/client-node declares no `sideEffects`, and its index re-exports exec / attach /
 * port-forward / cp, which pull in ws, tar-fs and socks through CommonJS requires. Its modules only
 * set statics on their own classes, so unused ones can be dropped whole.
 */
const clientNodeSideEffectFree: Plugin = {
  name: 'client-node-side-effect-free',
  setup(b) {
    const inClientNode = /[\\/]@kubernetes[\\/]client-node[\\/]dist[\\/]/;
    b.onResolve({ filter: /^@kubernetes\/client-node$/ }, async (args) => {
      if (args.pluginData === 'sparkfn-resolved') return undefined;
      const resolved = await b.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: 'sparkfn-resolved' });
      return resolved.errors.length > 0 ? resolved : { ...resolved, sideEffects: false };
    });
    // client-node's own imports are relative paths with their `.js` extension.
    b.onResolve({ filter: /^\.\.?\/.*\.js$/ }, (args) => {
      if (!inClientNode.test(args.importer)) return undefined;
      const path = join(args.resolveDir, args.path);
      return existsSync(path) ? { path, sideEffects: false } : undefined;
    });
  },
};

/**
 * esbuild splits ES modules only. In a CommonJS bundle, each `import()` of a module of this
 * repository (shared/k8s/load-client.ts's ./client-node.js) is left to the runtime as
 * `./chunks/<name>.js` and recorded in `lazy`, for bundleFunction to build on its own into that
 * file: read and compiled only when first called, as in the split Lambda bundle. Kept in index.js
 * instead, such a module's code would still be read at every cold start, inside lazy wrappers that
 * tree-shake worse (client-node's cp and its tar-fs came back). A chunk's own `import()`s stay in it.
 */
function lazyModulesAsChunks(lazy: Map<string, string>): Plugin {
  return {
    name: 'lazy-modules-as-chunks',
    setup(b) {
      b.onResolve({ filter: /^\.\.?\// }, async (args) => {
        if (args.kind !== 'dynamic-import' || /[\\/]node_modules[\\/]/.test(args.importer)) return undefined;
        // Resolved as a static import, which this callback passes over.
        const module = await b.resolve(args.path, { kind: 'import-statement', importer: args.importer, resolveDir: args.resolveDir });
        if (module.errors.length > 0) return { errors: module.errors };
        const chunk = `./${CHUNKS_DIR}/${basename(module.path, extname(module.path))}.js`;
        const taken = lazy.get(chunk);
        if (taken !== undefined && taken !== module.path) return { errors: [{ text: `${taken} and ${module.path} would both be ${chunk}; rename one.` }] };
        lazy.set(chunk, module.path);
        return { path: chunk, external: true };
      });
    },
  };
}

/** esbuild options for one output of a function: `entry.out` is its path in the bundle's directory, without extension. */
function options(target: Target, root: string, dir: string, entry: { in: string; out: string }, plugins: Plugin[] = []): BuildOptions {
  const spec = SPECS[target];
  const common: BuildOptions = {
    entryPoints: [entry],
    outdir: dir,
    outExtension: { '.js': extname(spec.outfile) },
    splitting: spec.splitting,
    chunkNames: `${CHUNKS_DIR}/[name]-[hash]`,
    // Metafile paths relative to the repo.
    absWorkingDir: root,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: spec.format,
    minify: true,
    treeShaking: true,
    sourcemap: 'linked',
    // Stack traces map back with NODE_OPTIONS=--enable-source-maps; the sources stay in the repo.
    sourcesContent: false,
    legalComments: 'none',
    charset: 'utf8',
    // The AWS SDK's ES module builds tree-shake; its CommonJS ones (`main`) do not.
    mainFields: ['module', 'main'],
    external: [...Object.keys(NATIVE_PACKAGES), ...Object.keys(OPTIONAL_EXTERNALS)],
    metafile: true,
    logLevel: 'warning',
    plugins: [stubUnused, clientNodeSideEffectFree, ...plugins],
  };
  if (spec.format === 'esm') {
    // Bundled CommonJS dependencies call require('stream') etc.; give each ES module (the entry
    // and every chunk) a real require.
    return {
      ...common,
      banner: { js: "import { createRequire as __sparkfnCreateRequire } from 'node:module';const require = __sparkfnCreateRequire(import.meta.url);" },
    };
  }
  // In CommonJS esbuild empties `import.meta`; a bundled module that derives a path from
  // import.meta.url gets this file's URL instead (top-level await fails the CommonJS build).
  return {
    ...common,
    define: { 'import.meta.url': '__sparkfnImportMetaUrl' },
    banner: { js: "var __sparkfnImportMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  };
}

/**
 * esbuild writes a chunk for every `import()` it meets, also for one whose importer tree shaking
 * then removed (bowser, behind the AWS SDK's browser user-agent parser). Nothing loads such a
 * chunk: it is deleted, not shipped and counted.
 */
function removeUnreachableChunks(metafile: Metafile, root: string, entry: string): void {
  const reached = new Set<string>();
  const visit = (output: string): void => {
    if (reached.has(output)) return;
    reached.add(output);
    for (const imp of metafile.outputs[output]?.imports ?? []) if (!imp.external) visit(imp.path);
  };
  visit(relative(root, entry).split(sep).join('/'));
  for (const output of Object.keys(metafile.outputs)) {
    if (!output.endsWith('.map') && !reached.has(output)) {
      rmSync(join(root, output));
      rmSync(join(root, `${output}.map`), { force: true });
    }
  }
}

/** What a bundle left to the runtime to resolve, apart from its own chunks. */
function externalImports(metafiles: Metafile[], chunks: ReadonlyMap<string, string>): string[] {
  const paths = new Set<string>();
  for (const metafile of metafiles) {
    for (const output of Object.values(metafile.outputs)) {
      for (const imp of output.imports) if (imp.external && !chunks.has(imp.path)) paths.add(imp.path);
    }
  }
  return [...paths].sort();
}

/** Builds one function for one target into dist/<target>/<name>/ (emptied first). */
export async function bundleFunction(name: string, target: Target, root = ROOT): Promise<BundleResult> {
  const spec = SPECS[target];
  const dir = join(root, 'dist', target, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const withoutExtension = (path: string): string => path.slice(0, -extname(path).length);
  const lazy = new Map<string, string>();
  const entry = { in: join(root, 'functions', name, spec.entry), out: withoutExtension(spec.outfile) };
  const result = await build(options(target, root, dir, entry, spec.splitting ? [] : [lazyModulesAsChunks(lazy)]));
  const metafiles = [result.metafile!];
  if (spec.splitting) removeUnreachableChunks(result.metafile!, root, join(dir, spec.outfile));
  for (const [chunk, module] of lazy) {
    metafiles.push((await build(options(target, root, dir, { in: module, out: withoutExtension(chunk) }))).metafile!);
  }
  if (target === 'fc') {
    // The repo's package.json says "type": "module"; this one keeps index.js (and chunks/)
    // CommonJS when the bundle runs from dist/ (and is harmless in FC's code package).
    writeFileSync(join(dir, 'package.json'), `${JSON.stringify({ type: 'commonjs' })}\n`);
  }
  const externals = externalImports(metafiles, lazy);
  const native = externals.filter((path) => path in NATIVE_PACKAGES);
  for (const pkg of native) {
    for (const dep of NATIVE_PACKAGES[pkg]!) {
      const from = join(root, 'node_modules', dep);
      if (!existsSync(from)) throw new Error(`${dep} is not installed; run npm ci so the ${name} bundle can include it.`);
      cpSync(from, join(dir, 'node_modules', dep), { recursive: true });
    }
  }
  const { entry: file, chunks } = bundleCode(name, target, root);
  const code = [file, ...chunks];
  const bytes = (paths: string[]): number => paths.reduce((sum, path) => sum + statSync(path).size, 0);
  const built: BundleResult = {
    name,
    target,
    dir,
    file,
    chunks,
    entryBytes: bytes([file]),
    bytes: bytes(code),
    mapBytes: bytes(code.map((path) => `${path}.map`)),
    native,
    externals,
  };
  if (target === 'lambda') {
    built.artifact = join(root, 'dist', 'lambda', `${name}.zip`);
    writeFileSync(built.artifact, lambdaArtifact(built));
  }
  return built;
}

/**
 * The JavaScript files of a built bundle in dist/<target>/<name>/: the entry file the platform
 * loads, and those under chunks/ (none before a build).
 */
export function bundleCode(name: string, target: Target, root = ROOT): { entry: string; chunks: string[] } {
  const dir = join(root, 'dist', target, name);
  const chunkDir = join(dir, CHUNKS_DIR);
  const extension = extname(SPECS[target].outfile);
  const chunks = existsSync(chunkDir) ? readdirSync(chunkDir).filter((f) => f.endsWith(extension)).sort().map((f) => join(chunkDir, f)) : [];
  return { entry: join(dir, SPECS[target].outfile), chunks };
}

/**
 * The Lambda bundle as the zip serverless.yml deploys: the entry file at `functions/<name>/lambda.mjs`,
 * where the handler `functions/<name>/lambda.handler` points (Lambda's Node.js runtimes load a
 * `.mjs` handler file as an ES module), its chunks beside it in `chunks/` (the entry imports them
 * by relative path), every source map beside its file, native packages in the zip's root
 * `node_modules/`, which Node finds from there. Deterministic, like the FC code zip.
 */
export function lambdaArtifact(bundle: BundleResult): Buffer {
  const home = `functions/${bundle.name}/`;
  const code = readFileSync(bundle.file, 'utf8');
  const mapName = 'lambda.mjs.map';
  const files: Record<string, Uint8Array> = {
    [`${home}lambda.mjs`]: Buffer.from(code.replace(/\/\/# sourceMappingURL=index\.mjs\.map(\s*)$/, `//# sourceMappingURL=${mapName}$1`)),
    [`${home}${mapName}`]: readFileSync(`${bundle.file}.map`),
  };
  for (const chunk of bundle.chunks) {
    const path = `${home}${relative(bundle.dir, chunk).split(sep).join('/')}`;
    files[path] = readFileSync(chunk);
    files[`${path}.map`] = readFileSync(`${chunk}.map`);
  }
  const modules = join(bundle.dir, 'node_modules');
  if (existsSync(modules)) {
    for (const path of filesUnder(modules)) files[`node_modules/${relative(modules, path).split(sep).join('/')}`] = readFileSync(path);
  }
  return zipFiles(files);
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : e.isFile() ? [join(dir, e.name)] : []));
}

/** Builds every function for every target, two at a time (one per core). */
export async function bundleAll(root = ROOT, targets: readonly Target[] = TARGETS): Promise<BundleResult[]> {
  const jobs = discoverFunctions(root).flatMap((name) => targets.map((target) => ({ name, target })));
  const results: BundleResult[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const job = jobs[next++]!;
      results.push(await bundleFunction(job.name, job.target, root));
    }
  };
  await Promise.all([worker(), worker()]);
  return results.sort((a, b) => a.name.localeCompare(b.name) || a.target.localeCompare(b.target));
}

/** The bundle's path relative to the repo, for messages. */
export function shown(path: string, root = ROOT): string {
  return relative(root, path);
}

async function main(): Promise<void> {
  const started = performance.now();
  const results = await bundleAll();
  const kb = (n: number): string => `${(n / 1024).toFixed(0)} KB`;
  // The entry file, then all the JavaScript (entry and chunks), which the 2 MB goal limits.
  for (const r of results) {
    const chunks = `${r.chunks.length} chunk${r.chunks.length === 1 ? '' : 's'}`;
    const native = r.native.length ? `  + node_modules: ${r.native.join(', ')}` : '';
    const artifact = r.artifact ? `  zip: ${shown(r.artifact)} ${kb(statSync(r.artifact).size)}` : '';
    console.log(`${shown(r.file).padEnd(36)} ${kb(r.entryBytes).padStart(8)}  total ${kb(r.bytes).padStart(8)} with ${chunks.padEnd(9)}  (maps ${kb(r.mapBytes)})${native}${artifact}`);
  }
  const tooBig = results.filter((r) => r.bytes > MAX_BUNDLE_BYTES);
  console.log(`${results.length} bundles in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  if (tooBig.length > 0) {
    console.error(`over ${kb(MAX_BUNDLE_BYTES)} of JavaScript: ${tooBig.map((r) => shown(r.dir)).join(', ')}`);
    process.exitCode = 1;
  }
}

if (process.argv[1] && pathToFileURL(process.argv[1]).href === import.meta.url) await main();
