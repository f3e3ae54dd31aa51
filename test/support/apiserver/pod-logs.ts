import type { ServerResponse } from 'node:http';
import type { Clock } from '../../../shared/clock.js';
import type { DropMode } from './faults.js';
import { parseBool, type ResourceRequest } from './routing.js';
import { badRequest, invalid, notFound, StatusError } from './status.js';
import type { KubeObject } from './storage.js';

/** One line of a container's log as the kubelet keeps it: its CRI time (ns since the epoch) and text. */
export interface PodLogLine {
  timeNs: bigint;
  text: string;
}

/** A line to append: its text, and its time when the test fixes it (RFC3339 with up to 9 fraction digits, or ms since the epoch). */
export type PodLogInput = string | { text: string; time?: string | number };

interface ContainerLogs {
  current: PodLogLine[];
  previous?: PodLogLine[];
  /** Open follow streams of the current instance. */
  followers: Set<Follower>;
}

interface Follower {
  res: ServerResponse;
  timestamps: boolean;
  bytesLeft: number;
}

const POD_LOG_OPTIONS = { group: '', kind: 'PodLogOptions' };

/**
 * The kubelet's output format for `timestamps=true` (RFC3339NanoFixed, pkg/kubelet/kuberuntime/logs):
 * always nine fraction digits, here in UTC.
 */
export function formatLogTime(timeNs: bigint): string {
  const ms = Number(timeNs / 1_000_000n);
  const iso = new Date(ms).toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
  const nanos = (timeNs % 1_000_000_000n).toString().padStart(9, '0');
  return `${iso.slice(0, 19)}.${nanos}Z`;
}

/** Reads RFC3339 (fraction optional, up to 9 digits, Z or an offset) into ns since the epoch, or undefined. */
export function parseLogTime(text: string): bigint | undefined {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(text);
  if (!m) return undefined;
  const seconds = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(seconds)) return undefined;
  return BigInt(seconds) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
}

function containerNames(pod: KubeObject): { init: string[]; main: string[] } {
  const spec = (pod.spec ?? {}) as { containers?: { name: string }[]; initContainers?: { name: string }[] };
  return { init: (spec.initContainers ?? []).map((c) => c.name), main: (spec.containers ?? []).map((c) => c.name) };
}

interface ContainerStatus {
  name: string;
  state?: { waiting?: { reason?: string }; running?: unknown; terminated?: unknown };
}

function statusOf(pod: KubeObject, container: string): ContainerStatus | undefined {
  const status = (pod.status ?? {}) as { containerStatuses?: ContainerStatus[]; initContainerStatuses?: ContainerStatus[] };
  return [...(status.initContainerStatuses ?? []), ...(status.containerStatuses ?? [])].find((s) => s.name === container);
}

/**
 * Container logs and `GET /api/v1/namespaces/<ns>/pods/<name>/log` as kube-apiserver serves it
 * (pkg/registry/core/pod/rest/log.go and the kubelet behind it): text/plain, `container`,
 * `follow`, `previous`, `timestamps`, `sinceTime`, `sinceSeconds`, `tailLines`, `limitBytes`,
 * with kube's wording for a missing pod, a wrong or missing container name and a missing
 * previous instance. A follow stream ends when its container instance ends (restart, terminal
 * phase, pod deleted) and can be dropped on purpose (`drop`).
 */
export class PodLogs {
  private readonly logs = new Map<string, ContainerLogs>();
  /** ns of the last generated time, so that lines appended in one ms still ascend. */
  private lastGeneratedNs = 0n;

  constructor(private readonly clock: Clock) {}

  private entry(namespace: string, pod: string, container: string): ContainerLogs {
    const key = `${namespace}/${pod}/${container}`;
    let found = this.logs.get(key);
    if (!found) {
      found = { current: [], followers: new Set() };
      this.logs.set(key, found);
    }
    return found;
  }

  private timeOf(input: PodLogInput): bigint {
    const given = typeof input === 'string' ? undefined : input.time;
    if (typeof given === 'string') {
      const parsed = parseLogTime(given);
      if (parsed === undefined) throw new Error(`Not an RFC3339 time: ${given}`);
      return parsed;
    }
    if (typeof given === 'number') return BigInt(given) * 1_000_000n;
    const now = BigInt(this.clock.now()) * 1_000_000n;
    this.lastGeneratedNs = now > this.lastGeneratedNs ? now : this.lastGeneratedNs + 1n;
    return this.lastGeneratedNs;
  }

  /** Appends lines to the current instance's log and writes them to its follow streams. */
  append(namespace: string, pod: string, container: string, lines: readonly PodLogInput[]): PodLogLine[] {
    const logs = this.entry(namespace, pod, container);
    const added = lines.map((l) => ({ timeNs: this.timeOf(l), text: typeof l === 'string' ? l : l.text }));
    logs.current.push(...added);
    for (const follower of logs.followers) for (const line of added) this.write(follower, line);
    return added;
  }

  /** The current instance ends and a new one starts: its log becomes `previous`, follow streams end. */
  restart(namespace: string, pod: string, container: string): void {
    const logs = this.entry(namespace, pod, container);
    this.endFollowers(logs, 'end');
    logs.previous = logs.current;
    logs.current = [];
  }

  /** The container instance ended (its log stays readable): follow streams end. */
  terminate(namespace: string, pod: string, container?: string): void {
    for (const [key, logs] of this.logs) {
      const [ns, name, c] = key.split('/');
      if (ns === namespace && name === pod && (container === undefined || c === container)) this.endFollowers(logs, 'end');
    }
  }

  /** The pod is gone: its logs with it. */
  forget(namespace: string, pod: string): void {
    this.terminate(namespace, pod);
    for (const key of [...this.logs.keys()]) if (key.startsWith(`${namespace}/${pod}/`)) this.logs.delete(key);
  }

  /** Drops every open follow stream now (`destroy`: connection reset; `end`: a clean end, as a proxy timeout); returns how many. */
  drop(mode: DropMode = 'destroy'): number {
    let n = 0;
    for (const logs of this.logs.values()) {
      n += logs.followers.size;
      this.endFollowers(logs, mode);
    }
    return n;
  }

  /** Open follow streams. */
  get openFollows(): number {
    let n = 0;
    for (const logs of this.logs.values()) n += logs.followers.size;
    return n;
  }

  private endFollowers(logs: ContainerLogs, mode: DropMode): void {
    for (const f of logs.followers) {
      if (mode === 'destroy') f.res.destroy();
      else f.res.end();
    }
    logs.followers.clear();
  }

  private write(follower: Follower, line: PodLogLine): void {
    const bytes = Buffer.from(`${follower.timestamps ? `${formatLogTime(line.timeNs)} ` : ''}${line.text}\n`);
    const piece = bytes.subarray(0, Math.max(0, follower.bytesLeft));
    follower.bytesLeft -= piece.length;
    if (piece.length > 0) follower.res.write(piece);
    if (follower.bytesLeft <= 0) follower.res.end();
  }

  /**
   * Serves one pods/log request for `pod` (undefined: not found). Writes the answer itself;
   * throws StatusError for kube's error answers.
   */
  serve(info: ResourceRequest, pod: KubeObject | undefined, res: ServerResponse, headers: Record<string, string>): void {
    const namespace = info.namespace ?? 'default';
    const name = info.name ?? '';
    const q = info.query;
    const options = this.readOptions(name, q);
    if (!pod) throw notFound({ group: '', resource: 'pods' }, name);
    const { init, main } = containerNames(pod);
    let container = q.get('container') ?? '';
    if (container === '') {
      if (main.length === 1 && init.length === 0) container = main[0] as string;
      else if (main.length === 0) throw badRequest(`a container name must be specified for pod ${name}`);
      else throw badRequest(`a container name must be specified for pod ${name}, choose one of: [${[...init, ...main].join(' ')}]`);
    } else if (![...init, ...main].includes(container)) {
      throw badRequest(`container ${container} is not valid for pod ${name}`);
    }
    const logs = this.logs.get(`${namespace}/${name}/${container}`);
    let lines: PodLogLine[];
    if (options.previous) {
      if (!logs?.previous) throw badRequest(`previous terminated container "${container}" in pod "${name}" not found`);
      lines = logs.previous;
    } else {
      const waiting = statusOf(pod, container)?.state?.waiting;
      if (!logs && waiting) throw badRequest(`container "${container}" in pod "${name}" is waiting to start: ${waiting.reason ?? 'ContainerCreating'}`);
      lines = logs?.current ?? [];
    }
    // The kubelet finds the start of the last tailLines lines first, then skips what is before since.
    let selected = options.tailLines === undefined ? lines : lines.slice(Math.max(0, lines.length - options.tailLines));
    const since = options.sinceNs ?? (options.sinceSeconds !== undefined ? (BigInt(this.clock.now()) - BigInt(options.sinceSeconds) * 1000n) * 1_000_000n : undefined);
    if (since !== undefined) selected = selected.filter((l) => l.timeNs >= since);
    res.writeHead(200, { ...headers, 'Content-Type': 'text/plain', ...(options.follow ? { 'Transfer-Encoding': 'chunked' } : {}) });
    const follower: Follower = { res, timestamps: options.timestamps, bytesLeft: options.limitBytes ?? Number.POSITIVE_INFINITY };
    for (const line of selected) {
      if (follower.bytesLeft <= 0) break;
      this.write(follower, line);
    }
    if (follower.bytesLeft <= 0) return;
    const terminal = ['Succeeded', 'Failed'].includes(String((pod.status as { phase?: string } | undefined)?.phase));
    const running = !options.previous && !terminal && !statusOf(pod, container)?.state?.terminated;
    if (!options.follow || !running) return void res.end();
    res.flushHeaders();
    const entry = this.entry(namespace, name, container);
    entry.followers.add(follower);
    res.once('close', () => entry.followers.delete(follower));
  }

  private readOptions(name: string, q: URLSearchParams) {
    const causes: { field: string; reason: string; message: string }[] = [];
    const int = (field: string): number | undefined => {
      const raw = q.get(field);
      if (raw === null || raw === '') return undefined;
      if (!/^-?\d+$/.test(raw)) throw badRequest(`strconv.ParseInt: parsing ${JSON.stringify(raw)}: invalid syntax`);
      return Number(raw);
    };
    const tailLines = int('tailLines');
    const limitBytes = int('limitBytes');
    const sinceSeconds = int('sinceSeconds');
    const sinceRaw = q.get('sinceTime');
    let sinceNs: bigint | undefined;
    if (sinceRaw !== null && sinceRaw !== '') {
      sinceNs = parseLogTime(sinceRaw);
      if (sinceNs === undefined) throw badRequest(`parsing time ${JSON.stringify(sinceRaw)} as "2006-01-02T15:04:05Z07:00": cannot parse ${JSON.stringify(sinceRaw)} as "2006"`);
    }
    // pkg/apis/core/validation ValidatePodLogOptions, field by field.
    if (tailLines !== undefined && tailLines < 0) causes.push({ field: 'tailLines', reason: 'FieldValueInvalid', message: `Invalid value: ${tailLines}: must be greater than or equal to 0` });
    if (limitBytes !== undefined && limitBytes < 1) causes.push({ field: 'limitBytes', reason: 'FieldValueInvalid', message: `Invalid value: ${limitBytes}: must be greater than 0` });
    if (sinceSeconds !== undefined && sinceNs !== undefined) causes.push({ field: '', reason: 'FieldValueForbidden', message: 'Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified' });
    if (sinceSeconds !== undefined && sinceSeconds < 1) causes.push({ field: 'sinceSeconds', reason: 'FieldValueInvalid', message: `Invalid value: ${sinceSeconds}: must be greater than 0` });
    if (causes.length > 0) throw invalid(POD_LOG_OPTIONS, name, causes);
    return {
      follow: parseBool(q.get('follow')),
      previous: parseBool(q.get('previous')),
      timestamps: parseBool(q.get('timestamps')),
      tailLines,
      limitBytes,
      sinceSeconds,
      sinceNs,
    };
  }
}

export { StatusError };
