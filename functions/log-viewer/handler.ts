import { Readable } from 'node:stream';
import type { Deps } from '../../shared/deps.js';
import { InvalidInputError } from '../../shared/errors.js';
import { errorResult, jsonResult } from '../../shared/http/server.js';
import type { SparkFunction } from '../../shared/platform/function.js';
import type { HttpInput, HttpResult, TriggerInput } from '../../shared/platform/trigger.js';
import { loadConfig } from '../../shared/config.js';
import { ChunkVanishedError } from '../log-archiver/merge-members.js';
import { mapConcurrently } from '../../shared/store/map-concurrently.js';
import { compareExecutors, listApp } from './app-listing.js';
import { type AccessPolicy, type ReadableNamespaces, accessPolicyFromConfig, authorize, forbiddenApp, mayRead, namespaceOf } from './auth.js';
import { type ExecutorLog, openExecutorLog, podStatus } from './executor-log.js';
import { type LivePod, appPage, appPageData } from './html/app-page.js';
import { appsPage } from './html/apps-page.js';
import { errorPage } from './html/error-page.js';
import { logPage } from './html/log-page.js';
import { wantsHtml } from './html/negotiate.js';
import type { LogViewerDeps } from './live-cluster.js';
import { LOGS_ROUTE, type LogPath, parseLogPath } from './log-path.js';
import { type LogQuery, parseLogQuery } from './log-query.js';
import { searchLog, searchResultText } from './log-search.js';
import { DEFAULT_WINDOW_BYTES, MAX_WINDOW_BYTES, readLogWindow } from './log-window.js';
import { type LogSources, findLog, logGzip, logRanges, logTail, logText } from './log-sources.js';
import { logTextInTimeRange } from './indexed-log.js';
import { MAX_PAGE, listRecentApps } from './recent-apps.js';
import { parseSearchQuery } from './search-query.js';

const TEXT = 'text/plain; charset=utf-8';
/** The host that can stream a response as it is produced; `?follow=1` needs one. */
const STREAMING_SOURCE = 'sparkfn-serve';
/** Says where an answer's lines come from: `archive`, `live` or `archive+live`. */
export const LOG_SOURCE_HEADER = 'x-sparkfn-log-source';

/**
 * log-viewer's core: serves archived executor logs over HTTP GET.
 * - `/logs/<appId>`: JSON, the app's executors and streams with stored sizes and event-time ranges;
 * - `/logs/<appId>/<executorId>/<stdout|stderr>`: the log as text/plain, decompressed, in order,
 *   from the compacted object and any chunks not compacted yet (each Kafka record once);
 *   `?tail=N` the last N lines, `?download=1` the gzip bytes, `?start=&end=` a byte range of
 *   the text (206, or 416 when it starts past the end);
 * - `/logs`: the apps that have logs, newest first, paged (`?page=`, `?namespace=`), as JSON;
 * - `?grep=…&regex=1&context=2` on a log: matching lines with context and line numbers (text as
 *   `grep -n`, or JSON).
 * A browser (Accept: text/html first) gets the same routes as pages (html/); curl and Spark's
 * links keep getting text and JSON. Who may read is checked from the headers before the store is
 * asked anything (auth.ts: 401/403).
 *
 * Unknown app, executor or log name: 404 with a reason. An id that is not a safe key segment:
 * 400. Spark's UI links here through `spark.ui.custom.executor.log.url` (see README).
 * @example
 * const result = await run({ kind: 'http', source: 'local', method: 'GET', path: '/logs/spark-1a2b/3/stderr', query: { tail: '50' }, headers: {}, body: Buffer.alloc(0) }, deps);
 * // { status: 200, headers: { 'content-type': 'text/plain; charset=utf-8', … }, body: <the last 50 lines> }
 */
export async function run(input: TriggerInput, deps: LogViewerDeps, options: LogViewerOptions = {}): Promise<HttpResult> {
  if (input.kind !== 'http') throw new InvalidInputError(`log-viewer takes HTTP requests, not ${input.kind} triggers.`, 'wrong-trigger');
  if (input.method !== 'GET' && input.method !== 'HEAD') {
    const result = errorResult(405, 'method-not-allowed', `${input.method} is not allowed here; use GET.`);
    return { ...result, headers: { ...result.headers, allow: 'GET, HEAD' } };
  }
  const html = wantsHtml(input.headers, input.query);
  // Decided from the headers alone: a refused caller costs no store request.
  const verdict = authorize(input, options.access ?? { kind: 'none' });
  if (verdict.kind === 'refused') return finish(input, verdict.result, html);
  try {
    return finish(input, await serve(input, deps, { ...options, html, namespaces: verdict.namespaces }), html);
  } catch (err) {
    if (err instanceof InvalidInputError) return finish(input, errorResult(400, err.reason, err.message), html);
    throw err;
  }
}

/** What a host may fix instead of reading it from the environment (tests). */
export interface LogViewerOptions {
  /** Who may read (default: anyone). `fn` reads it from SPARKFN_LOGS_AUTH and friends. */
  access?: AccessPolicy;
  /**
   * The app's executor pods while they exist, by executor id: their logs are live (the app page
   * shows it, the log page offers Follow). Default: each executor's pod from the cluster
   * (podStatus), where there is one.
   */
  pods?: (appId: string, executorIds: readonly string[]) => Promise<ReadonlyMap<string, LivePod>>;
}

interface Served extends LogViewerOptions {
  html: boolean;
  namespaces: ReadableNamespaces;
}

/** People get errors as pages; HEAD gets no body. */
function finish(input: HttpInput, result: HttpResult, html: boolean): HttpResult {
  const shown = html && result.status >= 400 ? errorPage(result) : result;
  return input.method === 'HEAD' ? withoutBody(shown) : shown;
}

async function serve(input: HttpInput, deps: LogViewerDeps, options: Served): Promise<HttpResult> {
  if (input.path === LOGS_ROUTE || input.path === LOGS_ROUTE.slice(0, -1)) return serveRecentApps(input, deps, options);
  const path = parseLogPath(input.path);
  if (path.kind === 'none') return errorResult(404, 'not-found', `No log at ${input.path}; ask for ${LOGS_ROUTE}<appId> or ${LOGS_ROUTE}<appId>/<executorId>/<stdout|stderr>.`);
  if (options.namespaces !== 'all') {
    const refused = await refuseOtherNamespace(path, deps, options.namespaces);
    if (refused) return refused;
  }
  if (path.kind === 'app') {
    const listing = await listApp(deps.store, path.appId);
    if (!options.html) return listing ? jsonResult(200, listing) : errorResult(404, 'unknown-app', `Nothing is archived for app ${path.appId}.`);
    if (!listing) return errorResult(404, 'unknown-app', `Nothing is archived for app ${path.appId}.`);
    const pods = await livePods(path.appId, listing.executors.map((e) => e.executorId), deps, options);
    return appPage(appPageData(listing, path.appId, pods), compareExecutors);
  }
  if (path.kind === 'unknown-stream') {
    return errorResult(404, 'unknown-stream', `Executors have stdout and stderr logs, not ${JSON.stringify(path.stream)}.`);
  }
  const search = parseSearchQuery(input.query);
  const query = search ? undefined : parseLogQuery(input.query);
  const follow = query ? parseFollow(input.query, query) : false;
  const after = query ? parseAfter(input.query, query, follow) : undefined;
  if (follow && !options.html && input.source !== STREAMING_SOURCE) {
    return errorResult(501, 'follow-unsupported', `?follow=1 needs a host that streams responses (sparkfn serve); this one (${input.source}) sends a response whole. Ask without ?follow, or with ?tail=N.`);
  }
  const answer = () => {
    if (search) return serveSearch(path, input, search, deps, options);
    const q = query as LogQuery;
    // A person asking with ?follow=1 gets the page, whose script follows.
    if (options.html && q.kind !== 'download') return serveLogPage(path, q, deps, options);
    return q.kind === 'text' || q.kind === 'tail' ? serveJoinedLog(path, q, follow, deps, after) : serveLog(path, q, deps);
  };
  try {
    return await answer();
  } catch (err) {
    // A compaction deleted chunks this read had listed: their lines are in the compacted object now.
    if (err instanceof ChunkVanishedError) return answer();
    throw err;
  }
}

/**
 * 403 when the app is in a namespace the caller may not read: the namespace its archive names, or
 * before anything is archived, its executor pod's (a pod lookup that fails refuses: fail closed);
 * 404 when there is neither, so that no live log is read unchecked.
 */
async function refuseOtherNamespace(path: Exclude<LogPath, { kind: 'none' }>, deps: LogViewerDeps, readable: ReadableNamespaces): Promise<HttpResult | undefined> {
  let namespace = await namespaceOf(deps.store, path.appId);
  if (namespace === undefined && path.kind === 'log') {
    const status = await podStatus(path.appId, path.executorId, deps).catch(() => ({ pod: { namespace: null } }));
    if (!status.pod) return missingLog(path, 'app');
    namespace = status.pod.namespace;
  }
  return namespace !== undefined && !mayRead(readable, namespace) ? forbiddenApp(path.appId) : undefined;
}

async function serveRecentApps(input: HttpInput, deps: LogViewerDeps, options: Served): Promise<HttpResult> {
  const pageText = input.query.page ?? '1';
  const page = Number(pageText);
  if (!/^\d+$/.test(pageText) || page < 1 || page > MAX_PAGE) throw new InvalidInputError(`?page= must be a whole number from 1 to ${MAX_PAGE}.`, 'invalid-query');
  const wanted = input.query.namespace || undefined;
  const visible = options.namespaces === 'all' && !wanted ? undefined : (ns: string | null) => mayRead(options.namespaces, ns) && (!wanted || ns === wanted);
  const apps = await listRecentApps(deps.store, { page, ...(visible && { visible }) });
  return options.html ? appsPage(apps, wanted ? { namespace: wanted } : {}) : jsonResult(200, apps);
}

async function sourcesOrMissing(path: Extract<LogPath, { kind: 'log' }>, deps: Deps): Promise<LogSources | HttpResult> {
  const sources = await findLog(deps.store, path.appId, path.executorId, path.stream);
  return 'missing' in sources ? missingLog(path, sources.missing) : sources;
}

/** A search over the log as the text route serves it: the archive, continued by the pod's log while the pod exists. */
async function serveSearch(path: Extract<LogPath, { kind: 'log' }>, input: HttpInput, search: NonNullable<ReturnType<typeof parseSearchQuery>>, deps: LogViewerDeps, options: Served): Promise<HttpResult> {
  let text: AsyncIterable<Buffer>;
  if (search.timeRange) {
    // A time range: the archive's members whose event times overlap it (through the index, only those are read).
    const sources = await sourcesOrMissing(path, deps);
    if ('status' in sources) return sources;
    text = logTextInTimeRange(deps.store, sources, search.timeRange, deps.signal);
  } else {
    const log = await openExecutorLog({ appId: path.appId, executorId: path.executorId, stream: path.stream }, deps);
    if ('missing' in log) return missingLog(path, log.missing);
    text = log.text;
  }
  const result = await searchLog(text, search);
  if (options.html) {
    const form = { grep: search.pattern, regex: search.regex, ignoreCase: search.ignoreCase, context: search.context, ...(search.timeRange && { from: input.query.from ?? '', to: input.query.to ?? '' }) };
    return logPage({ ...path, pageBytes: DEFAULT_WINDOW_BYTES, search: { result, form } });
  }
  const json = input.query.format === 'json' || (input.headers.accept ?? '').split(',')[0]?.trim().startsWith('application/json');
  return json ? jsonResult(200, result) : { status: 200, headers: { 'content-type': TEXT, 'x-content-type-options': 'nosniff', 'cache-control': 'no-cache' }, body: searchResultText(result) };
}

async function serveLogPage(path: Extract<LogPath, { kind: 'log' }>, query: LogQuery, deps: LogViewerDeps, options: Served): Promise<HttpResult> {
  const sources = await sourcesOrMissing(path, deps);
  if ('status' in sources) return sources;
  // The index (when fresh) knows the text's size without reading the log.
  const ranges = await logRanges(deps.store, sources);
  const { size } = ranges;
  let end = size - 1;
  let start = Math.max(0, size - DEFAULT_WINDOW_BYTES);
  if (query.kind === 'range') {
    end = Math.min(query.end ?? size - 1, size - 1);
    start = Math.max(Math.min(query.start, end), end - MAX_WINDOW_BYTES + 1, 0);
  }
  const window = size === 0 ? { start: 0, end: -1, firstLine: 1, lines: [] } : await readLogWindow(deps.store, sources, start, end, deps.signal, ranges);
  // Follow continues the page's last line: offered on the page that ends where the archive does.
  const atEnd = window.end >= size - 1;
  const pod = atEnd ? (await livePods(path.appId, [path.executorId], deps, options)).get(path.executorId) : undefined;
  return logPage({
    ...path,
    pageBytes: DEFAULT_WINDOW_BYTES,
    window: { ...window, size },
    ...(pod?.running && { followUrl: `${LOGS_ROUTE}${path.appId}/${path.executorId}/${path.stream}?follow=1&after=${size}` }),
  });
}

/** Most executors whose pods the app page looks up (one pods list call each). */
const MAX_POD_LOOKUPS = 200;
const POD_LOOKUP_CONCURRENCY = 8;

/** The executors' pods that exist now: from the options, else from the cluster (none where there is no cluster, or when asking fails). */
async function livePods(appId: string, executorIds: readonly string[], deps: LogViewerDeps, options: Served): Promise<ReadonlyMap<string, LivePod>> {
  if (options.pods) return options.pods(appId, executorIds);
  const ids = executorIds.slice(0, MAX_POD_LOOKUPS);
  const statuses = await mapConcurrently(ids, POD_LOOKUP_CONCURRENCY, (id) => podStatus(appId, id, deps).catch(() => undefined));
  const pods = new Map<string, LivePod>();
  statuses.forEach((status, i) => {
    const pod = status?.pod;
    if (status?.state === 'live' && pod) pods.set(ids[i] as string, { podName: pod.name, node: pod.node ?? null, running: pod.state !== 'terminated' });
  });
  return pods;
}


/** `?follow=1` (or `true`, or empty); only with the text or `?tail=`. */
function parseFollow(raw: Record<string, string>, query: LogQuery): boolean {
  const value = raw.follow;
  if (value === undefined || value === '0' || value === 'false') return false;
  if (!['1', 'true', ''].includes(value)) throw new InvalidInputError('?follow= must be 1.', 'invalid-query');
  if (query.kind !== 'text' && query.kind !== 'tail') throw new InvalidInputError('?follow=1 goes with the text or ?tail=N, not with ?download= or ?start=&end=.', 'invalid-query');
  return true;
}

/**
 * `?after=B` (with `?follow=1` and the whole text only): start at byte B of the archive's text,
 * where the log page that offers Follow ends, instead of at line 1.
 */
function parseAfter(raw: Record<string, string>, query: LogQuery, follow: boolean): number | undefined {
  const value = raw.after;
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) throw new InvalidInputError(`?after= must be a whole number of bytes, not ${JSON.stringify(value.slice(0, 40))}.`, 'invalid-query');
  if (!follow || query.kind !== 'text') throw new InvalidInputError('?after= goes with ?follow=1 alone (not with ?tail=, ?download= or ?start=&end=).', 'invalid-query');
  return n;
}

/** The text or its tail: the archive, continued by the pod's log while the pod exists (see executor-log.ts). */
async function serveJoinedLog(path: Extract<LogPath, { kind: 'log' }>, query: Extract<LogQuery, { kind: 'text' | 'tail' }>, follow: boolean, deps: LogViewerDeps, after?: number): Promise<HttpResult> {
  const log = await openExecutorLog({ appId: path.appId, executorId: path.executorId, stream: path.stream, ...(query.kind === 'tail' ? { tail: query.lines } : {}), ...(follow ? { follow } : {}), ...(after !== undefined ? { after } : {}) }, deps);
  if ('missing' in log) return missingLog(path, log.missing);
  const headers = { 'content-type': TEXT, 'x-content-type-options': 'nosniff', 'cache-control': 'no-cache', ...sourceHeaders(log) };
  const text = log.text as AsyncGenerator<Buffer>;
  if (follow) return { status: 200, headers, body: Readable.from(text) };
  if (query.kind === 'tail') {
    const pieces: Buffer[] = [];
    for await (const piece of text) pieces.push(piece);
    return { status: 200, headers, body: Buffer.concat(pieces) };
  }
  return { status: 200, headers, body: await primed(text) };
}

function sourceHeaders(log: ExecutorLog): Record<string, string> {
  return {
    [LOG_SOURCE_HEADER]: log.source,
    ...(log.pod ? { 'x-sparkfn-log-pod': `${log.pod.namespace}/${log.pod.name}` } : {}),
    ...(log.seam ? { 'x-sparkfn-log-seam': log.seam } : {}),
    ...(log.liveSkipped ? { 'x-sparkfn-live-skipped': log.liveSkipped.replace(/[^\x20-\x7e]/g, '?').slice(0, 300) } : {}),
  };
}

function missingLog(path: Extract<LogPath, { kind: 'log' }>, missing: 'app' | 'executor'): HttpResult {
  return missing === 'app'
    ? errorResult(404, 'unknown-app', `Nothing is archived for app ${path.appId}.`)
    : errorResult(404, 'unknown-executor', `Nothing is archived for executor ${path.executorId} of app ${path.appId}.`);
}

async function serveLog(path: Extract<LogPath, { kind: 'log' }>, query: LogQuery, deps: Deps): Promise<HttpResult> {
  const sources = await findLog(deps.store, path.appId, path.executorId, path.stream);
  if ('missing' in sources) return missingLog(path, sources.missing);
  const { store, signal } = deps;
  const headers = { 'content-type': TEXT, 'x-content-type-options': 'nosniff', 'cache-control': 'no-cache', [LOG_SOURCE_HEADER]: 'archive' };
  switch (query.kind) {
    case 'text':
      return { status: 200, headers, body: await primed(logText(store, sources, signal)) };
    case 'tail':
      return { status: 200, headers, body: await logTail(store, sources, query.lines, signal) };
    case 'download':
      return {
        status: 200,
        headers: {
          'content-type': 'application/gzip',
          'content-disposition': `attachment; filename="${path.appId}-${path.executorId}-${path.stream}.log.gz"`,
          'cache-control': 'no-cache',
          [LOG_SOURCE_HEADER]: 'archive',
        },
        body: await primed(logGzip(store, sources, signal)),
      };
    case 'range': {
      const ranges = await logRanges(store, sources);
      const size = ranges.size;
      if (query.start >= size) {
        const result = errorResult(416, 'range-not-satisfiable', `The log has ${size} bytes of text; ?start=${query.start} is past its end.`);
        return { ...result, headers: { ...result.headers, 'content-range': `bytes */${size}` } };
      }
      const end = Math.min(query.end ?? size - 1, size - 1);
      return {
        status: 206,
        headers: { ...headers, 'content-range': `bytes ${query.start}-${end}/${size}`, 'content-length': String(end - query.start + 1) },
        body: await primed(ranges.read(query.start, end, signal)),
      };
    }
  }
}

/**
 * A stream of `source` whose first piece has already been read, so that a failure to open the
 * log is an error response rather than a response cut after its headers.
 */
async function primed(source: AsyncGenerator<Buffer>): Promise<Readable> {
  const first = await source.next();
  const stream = Readable.from(
    (async function* () {
      if (first.done) return;
      yield first.value;
      yield* source;
    })(),
  );
  // Destroyed before its first read (a HEAD, a client gone), the wrapper above never started, so
  // it cannot pass the end on to `source`, which holds the log object open.
  stream.once('close', () => void source.return(undefined).catch(() => undefined));
  return stream;
}

function withoutBody(result: HttpResult): HttpResult {
  const body = result.body;
  if (body instanceof Readable) body.destroy();
  const { body: _, ...rest } = result;
  return rest;
}

/**
 * log-viewer as every host sees it: one GET route, public to the host's webhook auth because
 * `run` checks readers itself (SPARKFN_LOGS_AUTH). Options fix what would come from the
 * environment; the access policy is read on first use.
 */
export function createLogViewer(options: LogViewerOptions = {}): SparkFunction<HttpResult, LogViewerDeps> {
  let access = options.access;
  return {
    name: 'log-viewer',
    triggers: ['http'],
    routes: [{ path: LOGS_ROUTE, methods: ['GET', 'HEAD'], auth: 'public' }],
    run: (input, deps) => {
      access ??= accessPolicyFromConfig(loadConfig());
      return run(input, deps, { ...options, access });
    },
  };
}

/** log-viewer with its access policy from the environment. */
export const fn: SparkFunction<HttpResult, LogViewerDeps> = createLogViewer();
