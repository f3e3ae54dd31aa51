import { randomUUID } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { systemClock, type Clock } from '../../../shared/clock.js';
import { Authenticator, type PolicyRule } from './auth.js';
import { CallLog, type ApiCall, type NonResourceCall } from './calls.js';
import { discovery } from './discovery.js';
import { FaultControls, type DropMode } from './faults.js';
import { RestHandlers } from './handlers.js';
import { mergePatch } from './patch.js';
import { QuotaController } from './quota.js';
import { resourceId, ResourceRegistry, withTypeMeta, type ResourceType } from './resources.js';
import { handleSelfReview } from './reviews.js';
import { seededRandom } from './rng.js';
import { PodLogs, type PodLogInput, type PodLogLine } from './pod-logs.js';
import { parseRequest } from './routing.js';
import { internalError, StatusError, unauthorized } from './status.js';
import { Storage, type KubeObject } from './storage.js';
import { timestamp } from './strategy.js';
import { selfSignedCertificate } from './tls.js';
import { WatchHub } from './watch.js';

export type { ApiCall, NonResourceCall } from './calls.js';
export { callKey } from './calls.js';
export type { CutMode, DropMode, FaultControls, RequestFilter } from './faults.js';
export { APF_TOO_MANY_REQUESTS_BODY } from './faults.js';
export type { PolicyRule } from './auth.js';
export type { PodLogInput, PodLogLine } from './pod-logs.js';
export { formatLogTime, parseLogTime } from './pod-logs.js';
export type { KubeObject } from './storage.js';
export { canonicalQuantity, formatQuantity, parseQuantity } from './quantity.js';

/**
 * How many events each resource's watch cache keeps. Small on purpose: tests that outrun it
 * exercise the 410 path, as a busy cluster would (kube-apiserver's default is 100 per resource).
 */
export const DEFAULT_HISTORY_WINDOW = 100;
/** kube-apiserver sends watch bookmarks about once a minute. */
export const DEFAULT_BOOKMARK_INTERVAL_MS = 60_000;
/** The first resourceVersion handed out; arbitrary, like etcd's revision on a fresh cluster. */
export const DEFAULT_INITIAL_RESOURCE_VERSION = 1000;

/** Options of `startTestApiserver`; every one has a default. */
export interface TestApiserverOptions {
  /** Serve HTTPS with a fresh self-signed certificate (needs the openssl CLI). */
  tls?: boolean;
  /** The bearer token of the all-powerful default user; random when unset. */
  token?: string;
  /** Events kept per resource for watch resumption and Exact lists. */
  historyWindow?: number;
  /** Seed for generated names and probabilistic faults. */
  seed?: number;
  /** Source of creationTimestamp. */
  clock?: Clock;
  initialResourceVersion?: number;
  /** Resources (`services`, `ingresses.networking.k8s.io`) whose deletecollection answers 405. */
  deleteCollectionDisabled?: string[];
  bookmarkIntervalMs?: number;
  /**
   * Serve SelfSubjectReview (authentication.k8s.io/v1, Kubernetes 1.28+); false answers 404 there,
   * as older apiservers do. SelfSubjectAccessReview is always served. Default true.
   */
  selfSubjectReview?: boolean;
}

/** A running test apiserver. Resource names below accept `pods`, `Pod` or `ingresses.networking.k8s.io`. */
export interface TestApiserver {
  /** `http://127.0.0.1:PORT` (or https). */
  readonly url: string;
  /** Bearer token of the default user, who may do anything. */
  readonly token: string;
  /** PEM CA certificate when serving TLS. */
  readonly caCert?: string;
  /** A client-node KubeConfig for this server (default namespace `default`), for `token` or another user's. */
  kubeConfig(options?: { token?: string; namespace?: string }): KubeConfig;
  /** Closes every connection and the listener. */
  stop(): Promise<void>;

  /** Every resource request, in arrival order. */
  readonly calls: readonly ApiCall[];
  /** Discovery, /version and health requests. */
  readonly nonResourceCalls: readonly NonResourceCall[];
  resetCalls(): void;
  /** Calls per `verb resource[/subresource]`: `{ 'create pods': 3, 'list pods': 1 }`. */
  callSummary(): Record<string, number>;
  countCalls(filter?: Partial<ApiCall>): number;

  readonly faults: FaultControls;

  /** Another bearer token, whose user is limited to `rules` (RBAC semantics) when given. */
  addUser(token: string, name: string, rules?: PolicyRule[]): void;
  /** Switches deletecollection for a resource between working and 405 MethodNotAllowed. */
  setDeleteCollectionAllowed(resource: string, allowed: boolean): void;

  /** Stores an object as is (no admission, no validation): create or replace. Returns what was stored. */
  put<T extends KubeObject>(object: T): T;
  get(resource: string, namespace: string | undefined, name: string): KubeObject | undefined;
  list(resource: string, namespace?: string): KubeObject[];
  remove(resource: string, namespace: string | undefined, name: string): KubeObject | undefined;
  /** Merge-patches `.status` (as a kubelet or controller would); quota usage follows. */
  updateStatus(resource: string, namespace: string, name: string, status: Record<string, unknown>): KubeObject;
  /** Moves a pod to `phase` (Succeeded/Failed release its quota usage); `status` is merged in too. */
  setPodPhase(namespace: string, name: string, phase: string, status?: Record<string, unknown>): KubeObject;
  /** Forgets all history: watches and Exact lists from any earlier resourceVersion get 410. */
  compact(): void;
  /** The current (latest) resourceVersion. */
  resourceVersion(): string;
  /** Sends a BOOKMARK on every open watch that allows them. */
  sendBookmarks(): void;
  /** Open watch streams. */
  openWatches(): number;

  /**
   * Container logs behind `pods/log` (the kubelet's part): lines appended to a container's
   * current instance (time: now, or as given), restarts (current → previous), terminations and
   * dropped follow streams. Setting a pod's phase to Succeeded/Failed or deleting it ends its
   * follow streams; a deleted pod's logs are gone.
   */
  readonly podLogs: {
    append(namespace: string, pod: string, container: string, lines: readonly PodLogInput[]): PodLogLine[];
    restart(namespace: string, pod: string, container: string): void;
    terminate(namespace: string, pod: string, container?: string): void;
    /** Drops every open follow stream: `destroy` resets the connection, `end` ends it cleanly. */
    drop(mode?: DropMode): number;
    readonly openFollows: number;
  };
}

function send(res: ServerResponse, code: number, headers: Record<string, string>, body: string): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(code, headers);
  res.end(body);
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * Starts an HTTP(S) server on 127.0.0.1 with a random port that speaks enough of the
 * kube-apiserver protocol for an unmodified @kubernetes/client-node: typed CRUD, lists with
 * selectors and pagination, watches with resume and 410, ResourceQuota admission, RBAC-style
 * users, and fault injection.
 * @example
 * const server = await startTestApiserver();
 * const core = server.kubeConfig().makeApiClient(CoreV1Api);
 * await core.listNamespacedPod({ namespace: 'default' });
 * await server.stop();
 */
export async function startTestApiserver(options: TestApiserverOptions = {}): Promise<TestApiserver> {
  const clock = options.clock ?? systemClock;
  const random = seededRandom(options.seed ?? 1);
  const token = options.token ?? randomUUID();
  const registry = new ResourceRegistry();
  const storage = new Storage({
    initialResourceVersion: options.initialResourceVersion ?? DEFAULT_INITIAL_RESOURCE_VERSION,
    historyWindow: options.historyWindow ?? DEFAULT_HISTORY_WINDOW,
  });
  const log = new CallLog();
  const auth = new Authenticator();
  auth.addUser(token, { name: 'admin' });
  let watches: WatchHub | undefined;
  const faults = new FaultControls(random, (mode) => watches?.dropAll(mode) ?? 0);
  watches = new WatchHub(storage, {
    bookmarkIntervalMs: options.bookmarkIntervalMs ?? DEFAULT_BOOKMARK_INTERVAL_MS,
    onEventWritten: () => faults.watchEventWritten(),
  });
  const hub = watches;
  const quota = new QuotaController(storage, registry, { injectConflict: () => faults.takeQuotaConflict() });
  const deleteCollectionDisabled = new Set((options.deleteCollectionDisabled ?? []).map((r) => resourceId(registry.byName(r))));
  const podLogs = new PodLogs(clock);
  storage.subscribe((type, event) => {
    if (type.resource !== 'pods' || type.group !== '') return;
    const { namespace = 'default', name } = event.object.metadata;
    const phase = (event.object.status as { phase?: string } | undefined)?.phase;
    if (event.type === 'DELETED') podLogs.forget(namespace, name);
    else if (phase === 'Succeeded' || phase === 'Failed') podLogs.terminate(namespace, name);
  });
  const handlers = new RestHandlers({ storage, registry, quota, watches: hub, clock, random, deleteCollectionDisabled });
  const certificate = options.tls ? await selfSignedCertificate() : undefined;
  let serverAddress = '';

  async function onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const info = parseRequest(req.method ?? 'GET', req.url ?? '/');
    const headers: Record<string, string> = { 'Audit-Id': randomUUID(), 'Cache-Control': 'no-cache, private' };
    const call =
      info.kind === 'resource'
        ? log.record({
            verb: info.verb,
            group: info.group,
            resource: info.resource,
            ...(info.subresource ? { subresource: info.subresource } : {}),
            ...(info.namespace !== undefined ? { namespace: info.namespace } : {}),
            ...(info.name !== undefined ? { name: info.name } : {}),
            code: 0,
          })
        : log.recordNonResource({ method: req.method ?? 'GET', path: info.path, code: 0 });
    const respond = (code: number, extra: Record<string, string>, text: string) => {
      call.code = code;
      send(res, code, { ...headers, ...extra }, text);
    };
    try {
      if (faults.latencyMs > 0) await new Promise((r) => setTimeout(r, faults.latencyMs));
      const user = auth.authenticate(req.headers.authorization);
      if (!user) throw unauthorized();
      if (info.kind === 'nonResource') {
        const answer = discovery(info, registry, serverAddress);
        if (answer === undefined) return respond(404, { 'Content-Type': 'text/plain; charset=utf-8' }, '404 page not found\n');
        if (typeof answer === 'string') return respond(200, { 'Content-Type': 'text/plain; charset=utf-8' }, answer);
        return respond(200, { 'Content-Type': 'application/json' }, `${JSON.stringify(answer)}\n`);
      }
      (call as ApiCall).user = user.name;
      const cut = faults.takeCut(user.name, () => res.destroy());
      if (cut === 'reset') return void res.destroy();
      if (cut === 'hang') return;
      // Filter order as in kube-apiserver's handler chain: authentication, then APF (429), then authorization.
      const fault = faults.takeRequestFault({ verb: info.verb, group: info.group, resource: info.resource, namespace: info.namespace, ...(info.subresource ? { subresource: info.subresource } : {}) });
      if (fault) return respond(fault.code, fault.headers, fault.body);
      // Every authenticated user may create self-reviews (system:basic-user), whatever its rules.
      const review = handleSelfReview(info, user, body, req.headers['content-type'], { auth, clock, selfSubjectReview: options.selfSubjectReview ?? true });
      if (review) return respond(review.code, { 'Content-Type': 'application/json' }, `${JSON.stringify(review.body)}\n`);
      const denied = auth.authorize(user, info);
      if (denied) throw denied;
      if (info.resource === 'pods' && info.group === '' && info.subresource === 'log' && info.verb === 'get') {
        podLogs.serve(info, storage.get(registry.byName('pods'), info.namespace, info.name ?? ''), res, headers);
        call.code = res.statusCode;
        return;
      }
      const type = handlers.resolve(info);
      const result = handlers.handle(info, type, body, req.headers['content-type'], res, headers);
      if (result === 'streaming') {
        call.code = res.statusCode;
        return;
      }
      if (faults.takeLostAnswer({ verb: info.verb, group: info.group, resource: info.resource, namespace: info.namespace })) {
        call.code = result.code;
        res.destroy();
        return;
      }
      respond(result.code, { 'Content-Type': 'application/json' }, `${JSON.stringify(result.body)}\n`);
    } catch (err) {
      const error = err instanceof StatusError ? err : internalError((err as Error).message ?? String(err));
      respond(error.code, { 'Content-Type': 'application/json', ...error.headers }, `${JSON.stringify(error.status)}\n`);
    }
  }

  const listener = (req: IncomingMessage, res: ServerResponse) => {
    res.on('error', () => undefined);
    onRequest(req, res).catch(() => res.destroy());
  };
  const server: Server = certificate ? createHttpsServer({ cert: certificate.cert, key: certificate.key }, listener) : createHttpServer(listener);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  serverAddress = `127.0.0.1:${port}`;
  const url = `${certificate ? 'https' : 'http'}://${serverAddress}`;

  const typeOf = (resource: string): ResourceType => registry.byName(resource);
  const mustGet = (type: ResourceType, namespace: string | undefined, name: string): KubeObject => {
    const found = storage.get(type, namespace, name);
    if (!found) throw new Error(`No ${type.resource} ${namespace ? `${namespace}/` : ''}${name} in the test apiserver.`);
    return found;
  };

  function updateStatus(resource: string, namespace: string, name: string, status: Record<string, unknown>): KubeObject {
    const type = typeOf(resource);
    const current = mustGet(type, namespace, name);
    const next = { ...current, status: mergePatch(current.status ?? {}, status) };
    return withTypeMeta(type, storage.update(type, next));
  }

  return {
    url,
    token,
    caCert: certificate?.cert,
    kubeConfig({ token: userToken = token, namespace = 'default' } = {}) {
      const kc = new KubeConfig();
      kc.loadFromOptions({
        clusters: [
          {
            name: 'test-apiserver',
            server: url,
            // client-node 1.x refuses plain http:// unless skipTLSVerify is set.
            skipTLSVerify: !certificate,
            ...(certificate ? { caData: Buffer.from(certificate.cert).toString('base64') } : {}),
          },
        ],
        users: [{ name: 'test-user', token: userToken }],
        contexts: [{ name: 'test', cluster: 'test-apiserver', user: 'test-user', namespace }],
        currentContext: 'test',
      });
      return kc;
    },
    async stop() {
      hub.dropAll('destroy');
      podLogs.drop('destroy');
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
    get calls() {
      return log.calls;
    },
    get nonResourceCalls() {
      return log.nonResourceCalls;
    },
    resetCalls: () => log.reset(),
    callSummary: () => log.summary(),
    countCalls: (filter) => log.count(filter),
    faults,
    addUser(userToken, name, rules) {
      auth.addUser(userToken, { name, rules });
    },
    setDeleteCollectionAllowed(resource, allowed) {
      const id = resourceId(typeOf(resource));
      if (allowed) deleteCollectionDisabled.delete(id);
      else deleteCollectionDisabled.add(id);
    },
    put<T extends KubeObject>(object: T): T {
      const type = registry.byKind(object.apiVersion ?? '', object.kind ?? '');
      if (!type) throw new Error(`The test apiserver does not serve ${object.apiVersion}/${object.kind}.`);
      const copy = withTypeMeta(type, structuredClone(object));
      const meta = copy.metadata;
      if (type.namespaced && !meta.namespace) meta.namespace = 'default';
      const existing = storage.get(type, meta.namespace, meta.name);
      delete meta.resourceVersion;
      meta.uid = meta.uid ?? existing?.metadata.uid ?? randomUUID();
      meta.creationTimestamp = meta.creationTimestamp ?? existing?.metadata.creationTimestamp ?? timestamp(clock);
      const stored = existing ? storage.update(type, copy) : storage.create(type, copy);
      // A quota's status was recalculated while it was stored: answer with that.
      return withTypeMeta(type, storage.get(type, meta.namespace, meta.name) ?? stored) as T;
    },
    get(resource, namespace, name) {
      const type = typeOf(resource);
      const found = storage.get(type, namespace, name);
      return found ? withTypeMeta(type, found) : undefined;
    },
    list(resource, namespace) {
      const type = typeOf(resource);
      return storage.list(type, namespace).map((o) => withTypeMeta(type, o));
    },
    remove(resource, namespace, name) {
      const type = typeOf(resource);
      const removed = storage.delete(type, namespace, name);
      return removed ? withTypeMeta(type, removed) : undefined;
    },
    updateStatus,
    setPodPhase: (namespace, name, phase, status = {}) => updateStatus('pods', namespace, name, { ...status, phase }),
    compact: () => storage.compact(),
    resourceVersion: () => String(storage.currentResourceVersion()),
    sendBookmarks: () => hub.sendBookmarks(),
    openWatches: () => hub.openCount,
    podLogs: {
      append: (namespace, pod, container, lines) => podLogs.append(namespace, pod, container, lines),
      restart(namespace, pod, container) {
        podLogs.restart(namespace, pod, container);
        // What the kubelet reports after a restart: the old instance in lastState, a new one running.
        const stored = mustGet(typeOf('pods'), namespace, pod);
        const statuses = ((stored.status as { containerStatuses?: Record<string, unknown>[] } | undefined)?.containerStatuses ?? []).map((s) => ({ ...s }));
        let own = statuses.find((s) => s.name === container);
        if (!own) {
          own = { name: container, ready: true, restartCount: 0, image: 'spark', imageID: '', state: { running: { startedAt: timestamp(clock) } } };
          statuses.push(own);
        }
        const startedAt = (own.state as { running?: { startedAt?: string } } | undefined)?.running?.startedAt ?? timestamp(clock);
        own.lastState = { terminated: { exitCode: 137, reason: 'Error', startedAt, finishedAt: timestamp(clock), containerID: `containerd://${randomUUID()}` } };
        own.state = { running: { startedAt: timestamp(clock) } };
        own.restartCount = Number(own.restartCount ?? 0) + 1;
        own.containerID = `containerd://${randomUUID()}`;
        updateStatus('pods', namespace, pod, { containerStatuses: statuses });
      },
      terminate: (namespace, pod, container) => podLogs.terminate(namespace, pod, container),
      drop: (mode) => podLogs.drop(mode),
      get openFollows() {
        return podLogs.openFollows;
      },
    },
  };
}

