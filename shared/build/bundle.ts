// `npm run build`: one self-contained bundle per function and platform, with esbuild.
//   dist/lambda/<name>/index.mjs   AWS Lambda nodejs20.x, ESM (handler `index.handler`)
//   dist/fc/<name>/index.js        Alibaba FC nodejs20, CommonJS `exports.handler` (handler `index.handler`)
// each with its source map, and node_modules/ holding only the native packages left external.
//   dist/lambda/<name>.zip         the same Lambda bundle laid out for serverless.yml's handler
//                                  `functions/<name>/lambda.handler` (package.artifact)
import { build, type BuildOptions, type Metafile, type Plugin } from 'esbuild';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { zipFiles } from '../deploy/zip-folder.js';

export const ROOT = join(import.meta.dirname, '..', '..');
export const DIST = join(ROOT, 'dist');

export type Target = 'lambda' | 'fc';
export const TARGETS: readonly Target[] = ['lambda', 'fc'];

/** The goal issue 8 sets for each bundle's code (what a cold start reads and compiles). */
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
  outfile: string;
  format: 'esm' | 'cjs';
}

const SPECS: Readonly<Record<Target, TargetSpec>> = {
  // Lambda loads index.mjs as an ES module (nodejs18.x and later).
  lambda: { entry: 'lambda.ts', outfile: 'index.mjs', format: 'esm' },
  // FC's Node.js runtime require()s the handler file; CommonJS `exports.handler` is what every
  // FC Node.js runtime loads.
  fc: { entry: 'fc.ts', outfile: 'index.js', format: 'cjs' },
};

/** One built bundle. */
export interface BundleResult {
  name: string;
  target: Target;
  dir: string;
  /** The file the platform loads; its `handler` export is the entry point. */
  file: string;
  /** Bytes of JavaScript in the bundle (the file above; there are no other chunks). */
  bytes: number;
  /** Bytes of the source map beside it (not loaded at run time). */
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

function options(name: string, target: Target, root: string): BuildOptions {
  const spec = SPECS[target];
  const common: BuildOptions = {
    entryPoints: [join(root, 'functions', name, spec.entry)],
    outfile: join(root, 'dist', target, name, spec.outfile),
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
    plugins: [stubUnused, clientNodeSideEffectFree],
  };
  if (spec.format === 'esm') {
    // Bundled CommonJS dependencies call require('stream') etc.; give the ES module a real require.
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

/** What a bundle left to the runtime to resolve. */
function externalImports(metafile: Metafile): string[] {
  const paths = new Set<string>();
  for (const output of Object.values(metafile.outputs)) {
    for (const imp of output.imports) if (imp.external) paths.add(imp.path);
  }
  return [...paths].sort();
}

/** Builds one function for one target into dist/<target>/<name>/ (emptied first). */
export async function bundleFunction(name: string, target: Target, root = ROOT): Promise<BundleResult> {
  const dir = join(root, 'dist', target, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const result = await build(options(name, target, root));
  if (target === 'fc') {
    // The repo's package.json says "type": "module"; this one keeps index.js CommonJS when the
    // bundle runs from dist/ (and is harmless in FC's code package).
    writeFileSync(join(dir, 'package.json'), `${JSON.stringify({ type: 'commonjs' })}\n`);
  }
  const externals = externalImports(result.metafile!);
  const native = externals.filter((path) => path in NATIVE_PACKAGES);
  for (const pkg of native) {
    for (const dep of NATIVE_PACKAGES[pkg]!) {
      const from = join(root, 'node_modules', dep);
      if (!existsSync(from)) throw new Error(`${dep} is not installed; run npm ci so the ${name} bundle can include it.`);
      cpSync(from, join(dir, 'node_modules', dep), { recursive: true });
    }
  }
  const file = join(dir, SPECS[target].outfile);
  const built: BundleResult = { name, target, dir, file, bytes: statSync(file).size, mapBytes: statSync(`${file}.map`).size, native, externals };
  if (target === 'lambda') {
    built.artifact = join(root, 'dist', 'lambda', `${name}.zip`);
    writeFileSync(built.artifact, lambdaArtifact(built));
  }
  return built;
}

/**
 * The Lambda bundle as the zip serverless.yml deploys: the bundle at `functions/<name>/lambda.mjs`,
 * where the handler `functions/<name>/lambda.handler` points (Lambda's Node.js runtimes load a
 * `.mjs` handler file as an ES module), its source map beside it, native packages in the zip's
 * root `node_modules/`, which Node finds from there. Deterministic, like the FC code zip.
 */
export function lambdaArtifact(bundle: BundleResult): Buffer {
  const home = `functions/${bundle.name}/`;
  const code = readFileSync(bundle.file, 'utf8');
  const mapName = 'lambda.mjs.map';
  const files: Record<string, Uint8Array> = {
    [`${home}lambda.mjs`]: Buffer.from(code.replace(/\/\/# sourceMappingURL=index\.mjs\.map(\s*)$/, `//# sourceMappingURL=${mapName}$1`)),
    [`${home}${mapName}`]: readFileSync(`${bundle.file}.map`),
  };
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
  for (const r of results) {
    const native = r.native.length ? `  + node_modules: ${r.native.join(', ')}` : '';
    const artifact = r.artifact ? `  zip: ${shown(r.artifact)} ${kb(statSync(r.artifact).size)}` : '';
    console.log(`${shown(r.file).padEnd(36)} ${kb(r.bytes).padStart(8)}  (map ${kb(r.mapBytes)})${native}${artifact}`);
  }
  const tooBig = results.filter((r) => r.bytes > MAX_BUNDLE_BYTES);
  console.log(`${results.length} bundles in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  if (tooBig.length > 0) {
    console.error(`over ${kb(MAX_BUNDLE_BYTES)}: ${tooBig.map((r) => shown(r.file)).join(', ')}`);
    process.exitCode = 1;
  }
}

if (process.argv[1] && pathToFileURL(process.argv[1]).href === import.meta.url) await main();
