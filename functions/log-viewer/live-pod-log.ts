import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { SparkfnError } from '../../shared/errors.js';

/** One line of a pod's log as `pods/log?timestamps=true` gives it. */
export interface LiveLine {
  /** The kubelet's time for the line (the CRI log time), ns since the epoch. */
  timeNs: bigint;
  /** The line without its newline. */
  text: string;
}

/** What to ask `pods/log` for. Always with `timestamps=true`: the seam and resuming need them. */
export interface PodLogRequest {
  namespace: string;
  pod: string;
  container: string;
  previous?: boolean;
  follow?: boolean;
  /** Lines at or after this time (RFC3339, second precision). */
  sinceTime?: string;
  signal?: AbortSignal;
}

/** pods/log answered with an error Status (the pod is gone, no previous instance, …). */
export class PodLogError extends SparkfnError {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(`pods/log answered ${code}: ${message}`);
    this.name = 'PodLogError';
  }
}

/** The log stream broke before its end (connection reset, apiserver restart). */
export class PodLogDroppedError extends SparkfnError {
  constructor(cause: string) {
    super(`The pod log stream was cut: ${cause}.`);
    this.name = 'PodLogDroppedError';
  }
}

/** RFC3339 with 0 to 9 fraction digits and Z or an offset → ns since the epoch; undefined when it is not one. */
export function parseKubeTime(text: string): bigint | undefined {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(text);
  if (!m) return undefined;
  const ms = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(ms)) return undefined;
  return BigInt(ms) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
}

/** `sinceTime` for a time: RFC3339 at second precision, rounded down (the whole second is asked for). */
export function sinceTimeOf(timeNs: bigint): string {
  return `${new Date(Number((timeNs / 1_000_000_000n) * 1000n)).toISOString().slice(0, 19)}Z`;
}

/** ms since the epoch of a line time, truncated as Filebeat's `@timestamp` is. */
export function msOf(timeNs: bigint): number {
  return Number(timeNs / 1_000_000n);
}

/**
 * Opens `GET /api/v1/namespaces/<ns>/pods/<pod>/log?timestamps=true…` with the KubeConfig's
 * TLS settings and credentials and yields its lines. Ends when the answer ends; throws
 * PodLogDroppedError when the connection breaks first and PodLogError for an error answer.
 * Read here rather than with client-node's `Log` class, which leaves its output stream open when
 * the connection is reset (node-fetch's body error is not passed on), so a follower could not
 * tell a dropped stream from a quiet pod.
 */
export async function* readPodLog(kubeConfig: KubeConfig, req: PodLogRequest): AsyncGenerator<LiveLine> {
  const cluster = kubeConfig.getCurrentCluster();
  if (!cluster) throw new SparkfnError('The kubeconfig has no current cluster.');
  const url = new URL(`${cluster.server.replace(/\/+$/, '')}/api/v1/namespaces/${encodeURIComponent(req.namespace)}/pods/${encodeURIComponent(req.pod)}/log`);
  url.searchParams.set('container', req.container);
  url.searchParams.set('timestamps', 'true');
  if (req.previous) url.searchParams.set('previous', 'true');
  if (req.follow) url.searchParams.set('follow', 'true');
  if (req.sinceTime) url.searchParams.set('sinceTime', req.sinceTime);
  const opts: RequestOptions = {};
  await kubeConfig.applyToHTTPSOptions(opts);
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    const outgoing = send(url, { ...opts, method: 'GET', headers: { ...(opts.headers as Record<string, string>), Accept: 'text/plain, */*' }, signal: req.signal }, resolve);
    outgoing.on('error', reject);
    outgoing.end();
  });
  try {
    if (res.statusCode !== 200) {
      const chunks: Buffer[] = [];
      for await (const c of res) chunks.push(c as Buffer);
      const body = Buffer.concat(chunks).toString('utf8');
      let message = body.trim();
      try {
        message = (JSON.parse(body) as { message?: string }).message ?? message;
      } catch {
        // A plain-text error (a proxy's): the body is the message.
      }
      throw new PodLogError(res.statusCode ?? 0, message);
    }
    let partial = '';
    let complete = false;
    res.once('end', () => (complete = true));
    try {
      for await (const piece of res) {
        const text = partial + (piece as Buffer).toString('utf8');
        const lines = text.split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) yield parseLine(line);
      }
    } catch (err) {
      throw new PodLogDroppedError((err as Error).message);
    }
    // A response cut mid-body ends the iteration without an error on some Node versions: `end` says whether it was whole.
    if (!complete && !res.complete) throw new PodLogDroppedError('the connection closed before the end of the answer');
    if (partial !== '') yield parseLine(partial);
  } finally {
    res.destroy();
  }
}

function parseLine(line: string): LiveLine {
  const space = line.indexOf(' ');
  const time = space > 0 ? parseKubeTime(line.slice(0, space)) : undefined;
  // A line without a time (never from a kubelet) keeps its text and sorts first.
  return time === undefined ? { timeNs: 0n, text: line } : { timeNs: time, text: line.slice(space + 1) };
}
