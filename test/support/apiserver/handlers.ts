import type { ServerResponse } from 'node:http';
import type { Clock } from '../../../shared/clock.js';
import { decodeContinue, encodeContinue } from './continue-token.js';
import { applyJsonPatch, decodeJsonPatch, deepEqual, JsonPatchError, mergePatch } from './patch.js';
import type { QuotaController } from './quota.js';
import {
  apiVersionOf,
  asListItem,
  groupKind,
  groupResource,
  resourceId,
  withTypeMeta,
  type ResourceRegistry,
  type ResourceType,
} from './resources.js';
import type { Random } from './rng.js';
import type { ResourceRequest } from './routing.js';
import { parseBool } from './routing.js';
import { isEmptySelector, labelValues, matches, parseSelector, type Selector } from './selectors.js';
import {
  alreadyExists,
  badRequest,
  conflict,
  deleteSuccess,
  expired,
  invalid,
  methodNotAllowed,
  notFound,
  serverNotFound,
  tooLargeResourceVersion,
  unprocessable,
  unsupportedMediaType,
} from './status.js';
import { objectKey, type KubeObject, type ObjectQuery, type QueryResult, type Storage } from './storage.js';
import { prepareForCreate, prepareForUpdate } from './strategy.js';
import type { WatchHub } from './watch.js';

/** A JSON answer; `streaming` means the handler took the response over (a watch). */
export type RestResult = { code: number; body: unknown } | 'streaming';

/** What the verb handlers work on. */
export interface HandlerDependencies {
  storage: Storage;
  registry: ResourceRegistry;
  quota: QuotaController;
  watches: WatchHub;
  clock: Clock;
  random: Random;
  /** Resource ids (`services`) whose deletecollection answers 405, as before Kubernetes 1.23. */
  deleteCollectionDisabled: Set<string>;
}

const EXPIRED_LIST = 'The resourceVersion for the provided list is too old.';
const EXPIRED_CONTINUE =
  'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.';

const PATCH_TYPES = ['application/json-patch+json', 'application/merge-patch+json', 'application/strategic-merge-patch+json'];

function parseResourceVersion(raw: string | null, what = 'resourceVersion'): number | undefined {
  if (raw === null || raw === '') return undefined;
  if (!/^\d+$/.test(raw)) throw badRequest(`${what}: Invalid value: "${raw}": strconv.ParseUint: parsing "${raw}": invalid syntax`);
  return Number(raw);
}

function isDryRun(query: URLSearchParams): boolean {
  return query.getAll('dryRun').includes('All');
}

function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}

function parseJsonBody(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw badRequest(`couldn't get version/kind; json parse error: ${(err as Error).message}`);
  }
}

/** The REST verbs of one resource type, with kube-apiserver's checks in kube-apiserver's order. */
export class RestHandlers {
  constructor(private readonly deps: HandlerDependencies) {}

  /** Which resource a request is for; 404 the way the mux answers an unknown path. */
  resolve(request: ResourceRequest): ResourceType {
    const type = this.deps.registry.byUrl(request.group, request.version, request.resource);
    if (!type) throw serverNotFound();
    if (!type.namespaced && request.namespace !== undefined) throw serverNotFound();
    if (request.subresource === 'eviction' && type.resource === 'pods' && type.group === '' && request.name) {
      // pods/eviction only takes create (POST), as in kube-apiserver's EvictionREST.
      if (request.verb !== 'create') throw methodNotAllowed();
      return type;
    }
    if (request.subresource !== undefined) {
      if (request.subresource !== 'status' || !type.statusSubresource || !request.name) throw serverNotFound();
      if (!['get', 'update', 'patch'].includes(request.verb)) throw methodNotAllowed();
    }
    if (type.namespaced && request.namespace === undefined) {
      // Only list and watch are registered for all namespaces (/api/v1/pods).
      if (request.verb === 'create' || request.verb === 'deletecollection') throw methodNotAllowed();
      if (request.verb !== 'list' && request.verb !== 'watch') throw serverNotFound();
    }
    return type;
  }

  handle(
    request: ResourceRequest,
    type: ResourceType,
    body: Buffer,
    contentType: string | undefined,
    res: ServerResponse,
    headers: Record<string, string>,
  ): RestResult {
    switch (request.verb) {
      case 'get':
        return { code: 200, body: this.get(type, request) };
      case 'list':
        return { code: 200, body: this.list(type, request) };
      case 'watch':
        this.watch(type, request, res, headers);
        return 'streaming';
      case 'create':
        return request.subresource === 'eviction' ? this.evict(type, request, body, contentType) : this.create(type, request, body, contentType);
      case 'update':
        return { code: 200, body: this.update(type, request, body, contentType) };
      case 'patch':
        return { code: 200, body: this.patch(type, request, body, contentType) };
      case 'delete':
        return { code: 200, body: this.delete(type, request, body) };
      case 'deletecollection':
        return { code: 200, body: this.deleteCollection(type, request) };
    }
  }

  private existing(type: ResourceType, request: ResourceRequest): KubeObject {
    const found = this.deps.storage.get(type, request.namespace, request.name!);
    if (!found) throw notFound(groupResource(type), request.name!);
    return found;
  }

  private get(type: ResourceType, request: ResourceRequest): KubeObject {
    return withTypeMeta(type, this.existing(type, request));
  }

  private list(type: ResourceType, request: ResourceRequest): unknown {
    const { query, namespace } = request;
    const { storage } = this.deps;
    const selector = parseSelector(query, type);
    const rvParam = query.get('resourceVersion');
    const match = query.get('resourceVersionMatch') ?? '';
    const continueParam = query.get('continue') ?? '';
    const limitParam = Number(query.get('limit') ?? '0');
    const limit = Number.isFinite(limitParam) && limitParam > 0 ? Math.floor(limitParam) : 0;
    if (continueParam && rvParam) throw badRequest('specifying resource version is not allowed when using continue');
    if (match && !rvParam) {
      throw invalid({ group: 'meta.k8s.io', kind: 'ListOptions' }, '', [
        { field: 'resourceVersionMatch', reason: 'FieldValueForbidden', message: 'Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided' },
      ]);
    }
    const current = storage.currentResourceVersion();
    const keyOf = (o: KubeObject) => {
      const key = objectKey(o.metadata.namespace, o.metadata.name);
      return namespace ? key.slice(namespace.length + 1) : key;
    };
    const want: ObjectQuery = {
      namespace,
      labels: labelValues(selector.labels),
      keep: (o) => matches(selector, o, type),
      limit: limit > 0 ? limit : undefined,
      countAll: isEmptySelector(selector),
    };
    let page: QueryResult;
    let listRv = current;
    if (continueParam) {
      const token = decodeContinue(continueParam);
      want.from = token.start;
      const found = storage.select(type, token.rv === -1 ? want : { ...want, at: token.rv });
      if (!found) throw expired(EXPIRED_CONTINUE, encodeContinue({ rv: -1, start: token.start }));
      page = found;
      if (token.rv !== -1) listRv = token.rv;
    } else {
      const rv = parseResourceVersion(rvParam);
      if (rv !== undefined && rv > current) throw tooLargeResourceVersion(rv, current);
      if (match === 'Exact') {
        const found = rv === undefined ? undefined : storage.select(type, { ...want, at: rv });
        if (!found) throw expired(EXPIRED_LIST);
        page = found;
        listRv = rv!;
      } else {
        // resourceVersion=0 is served from the watch cache, which does not paginate.
        if (rv === 0) want.limit = undefined;
        page = storage.select(type, want)!;
      }
    }
    const selected = page.items;
    const metadata: { resourceVersion: string; continue?: string; remainingItemCount?: number } = { resourceVersion: String(listRv) };
    if (want.limit !== undefined && page.matched > selected.length) {
      metadata.continue = encodeContinue({ rv: listRv, start: `${keyOf(selected[selected.length - 1]!)}\u0000` });
      if (isEmptySelector(selector)) metadata.remainingItemCount = page.matched - selected.length;
    }
    return {
      kind: type.listKind,
      apiVersion: apiVersionOf(type),
      metadata,
      items: selected.map((o) => asListItem(type, o)),
    };
  }

  private watch(type: ResourceType, request: ResourceRequest, res: ServerResponse, headers: Record<string, string>): void {
    const { query } = request;
    const selector: Selector = parseSelector(query, type);
    if (request.name) selector.fields.push({ field: 'metadata.name', operator: '=', value: request.name });
    const rv = parseResourceVersion(query.get('resourceVersion'));
    const current = this.deps.storage.currentResourceVersion();
    if (rv !== undefined && rv > current) throw tooLargeResourceVersion(rv, current);
    const timeout = query.get('timeoutSeconds');
    this.deps.watches.open(
      {
        type,
        namespace: request.namespace,
        selector,
        resourceVersion: rv,
        allowBookmarks: parseBool(query.get('allowWatchBookmarks')),
        sendInitialEvents: parseBool(query.get('sendInitialEvents')),
        timeoutSeconds: timeout && /^\d+$/.test(timeout) ? Number(timeout) : undefined,
      },
      res,
      headers,
    );
  }

  private objectBody(type: ResourceType, body: Buffer, contentType: string | undefined): KubeObject {
    const media = mediaType(contentType);
    if (media !== 'application/json' && media !== '') throw unsupportedMediaType(media, ['application/json']);
    const parsed = parseJsonBody(body);
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw badRequest(`the object provided is unrecognized (must be of type ${type.kind})`);
    }
    const object = parsed as KubeObject;
    if (object.kind !== undefined && object.kind !== type.kind) {
      throw badRequest(`${type.kind} in version "${type.version}" cannot be handled as a ${type.kind}: no kind "${object.kind}" is registered for version "${apiVersionOf(type)}"`);
    }
    object.metadata = (object.metadata ?? {}) as KubeObject['metadata'];
    return object;
  }

  private create(type: ResourceType, request: ResourceRequest, body: Buffer, contentType: string | undefined): RestResult {
    const input = this.objectBody(type, body, contentType);
    if (input.metadata.namespace && input.metadata.namespace !== request.namespace) {
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    const object = prepareForCreate(type, input, { clock: this.deps.clock, random: this.deps.random, namespace: request.namespace });
    // Admission runs before storage: a full quota answers 403 even when the name is taken.
    const charges = type.namespaced ? this.deps.quota.admit(type, request.namespace!, object) : [];
    if (this.deps.storage.get(type, object.metadata.namespace, object.metadata.name)) {
      throw alreadyExists(groupResource(type), object.metadata.name);
    }
    if (isDryRun(request.query)) return { code: 201, body: object };
    this.deps.quota.charge(charges);
    return { code: 201, body: withTypeMeta(type, this.deps.storage.create(type, object)) };
  }

  /**
   * POST pods/<name>/eviction (policy/v1 Eviction): deletes the pod and answers 201 with a Success
   * Status, as kube-apiserver's EvictionREST does when no PodDisruptionBudget applies (PDBs are not
   * served here, so none ever forbids it). A missing pod is 404; a body naming another pod is 400.
   */
  private evict(type: ResourceType, request: ResourceRequest, body: Buffer, contentType: string | undefined): RestResult {
    const media = mediaType(contentType);
    if (media !== 'application/json' && media !== '') throw unsupportedMediaType(media, ['application/json']);
    const eviction = parseJsonBody(body) as { kind?: string; metadata?: { name?: string; namespace?: string } } | null;
    if (!eviction || typeof eviction !== 'object' || (eviction.kind !== undefined && eviction.kind !== 'Eviction')) {
      throw badRequest('the object provided is unrecognized (must be of type Eviction)');
    }
    if (eviction.metadata?.name !== request.name) throw badRequest('name in URL does not match name in Eviction object');
    if (eviction.metadata?.namespace && eviction.metadata.namespace !== request.namespace) {
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    this.existing(type, request);
    if (!isDryRun(request.query)) this.deps.storage.delete(type, request.namespace, request.name!);
    return { code: 201, body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 } };
  }

  private update(type: ResourceType, request: ResourceRequest, body: Buffer, contentType: string | undefined): KubeObject {
    const input = this.objectBody(type, body, contentType);
    const name = request.name!;
    if (input.metadata.name && input.metadata.name !== name) {
      throw badRequest(`the name of the object (${input.metadata.name}) does not match the name on the URL (${name})`);
    }
    if (input.metadata.namespace && input.metadata.namespace !== request.namespace) {
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    const old = this.existing(type, request);
    const rv = input.metadata.resourceVersion;
    if (!rv && !type.allowUnconditionalUpdate) {
      throw invalid(groupKind(type), name, [
        { field: 'metadata.resourceVersion', reason: 'FieldValueInvalid', message: 'Invalid value: 0x0: must be specified for an update' },
      ]);
    }
    if (rv && rv !== old.metadata.resourceVersion) throw conflict(groupResource(type), name);
    return this.write(type, request, old, prepareForUpdate(type, old, input, request.subresource));
  }

  private patch(type: ResourceType, request: ResourceRequest, body: Buffer, contentType: string | undefined): KubeObject {
    const media = mediaType(contentType);
    const accepted = type.custom ? PATCH_TYPES.filter((t) => !t.includes('strategic')) : PATCH_TYPES;
    if (!accepted.includes(media)) throw unsupportedMediaType(media, [...accepted, 'application/apply-patch+yaml']);
    const old = this.existing(type, request);
    const patchBody = parseJsonBody(body);
    let patched: unknown;
    if (media === 'application/json-patch+json') {
      try {
        patched = applyJsonPatch(withTypeMeta(type, old), decodeJsonPatch(patchBody));
      } catch (err) {
        if (err instanceof JsonPatchError && err.stage === 'apply') throw unprocessable();
        throw badRequest((err as Error).message);
      }
    } else {
      // Strategic merge patch is served as a JSON merge patch: lists replace instead of merging by key.
      if (!patchBody || typeof patchBody !== 'object' || Array.isArray(patchBody)) {
        throw badRequest('json: cannot unmarshal array into Go value of type map[string]interface {}');
      }
      patched = mergePatch(withTypeMeta(type, old), patchBody);
    }
    const object = patched as KubeObject;
    if (!object || typeof object !== 'object' || !object.metadata) throw badRequest('the patched object has no metadata');
    const rv = object.metadata.resourceVersion;
    if (rv && rv !== old.metadata.resourceVersion) throw conflict(groupResource(type), request.name!);
    return this.write(type, request, old, prepareForUpdate(type, old, object, request.subresource));
  }

  private write(type: ResourceType, request: ResourceRequest, old: KubeObject, object: KubeObject): KubeObject {
    const { resourceVersion: _new, ...newMeta } = object.metadata;
    const { resourceVersion: _old, ...oldMeta } = old.metadata;
    // An update that changes nothing is not written: no new resourceVersion, no watch event.
    if (deepEqual(withTypeMeta(type, { ...object, metadata: newMeta }), withTypeMeta(type, { ...old, metadata: oldMeta }))) {
      return withTypeMeta(type, old);
    }
    if (isDryRun(request.query)) return withTypeMeta(type, { ...object, metadata: { ...object.metadata, resourceVersion: old.metadata.resourceVersion } });
    return withTypeMeta(type, this.deps.storage.update(type, object));
  }

  private delete(type: ResourceType, request: ResourceRequest, body: Buffer): unknown {
    const old = this.existing(type, request);
    const gr = groupResource(type);
    const name = request.name!;
    const options = body.length > 0 ? (parseJsonBody(body) as { preconditions?: { uid?: string; resourceVersion?: string } }) : {};
    const pre = options?.preconditions;
    if (pre?.uid && pre.uid !== old.metadata.uid) {
      throw conflict(gr, name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${old.metadata.uid}`);
    }
    if (pre?.resourceVersion && pre.resourceVersion !== old.metadata.resourceVersion) {
      throw conflict(
        gr,
        name,
        `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${old.metadata.resourceVersion}`,
      );
    }
    // propagationPolicy and gracePeriodSeconds are accepted and ignored: there are no dependents or kubelets here.
    const deleted = isDryRun(request.query) ? old : this.deps.storage.delete(type, request.namespace, name)!;
    return type.returnDeletedObject ? withTypeMeta(type, deleted) : deleteSuccess(gr, name, old.metadata.uid ?? '');
  }

  private deleteCollection(type: ResourceType, request: ResourceRequest): unknown {
    if (this.deps.deleteCollectionDisabled.has(resourceId(type))) throw methodNotAllowed();
    const selector = parseSelector(request.query, type);
    const listRv = this.deps.storage.currentResourceVersion();
    const victims = this.deps.storage.select(type, {
      namespace: request.namespace,
      labels: labelValues(selector.labels),
      keep: (o) => matches(selector, o, type),
    })!.items;
    if (!isDryRun(request.query)) {
      for (const o of victims) this.deps.storage.delete(type, o.metadata.namespace, o.metadata.name);
    }
    return {
      kind: type.listKind,
      apiVersion: apiVersionOf(type),
      metadata: { resourceVersion: String(listRv) },
      items: victims.map((o) => asListItem(type, o)),
    };
  }
}
