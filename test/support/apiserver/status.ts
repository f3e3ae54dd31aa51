/**
 * metav1.Status bodies as kube-apiserver writes them. Field order matters to anyone comparing
 * bytes, so every body is built in Go's struct order: kind, apiVersion, metadata, status,
 * message, reason, details, code — and details as name, group, kind, uid, causes,
 * retryAfterSeconds, with empty fields left out (`omitempty`).
 */

/** A resource as apiserver names it in messages: `pods`, `ingresses.networking.k8s.io`. */
export interface GroupResource {
  group: string;
  resource: string;
}

/** metav1.StatusCause. */
export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

/** metav1.StatusDetails, in Go field order. */
export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

/** metav1.Status, in Go field order. */
export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: { continue?: string };
  status: 'Failure' | 'Success';
  message?: string;
  reason?: string;
  details?: StatusDetails;
  code?: number;
}

/** A failed request: the Status to send, plus any headers (Retry-After). */
export class StatusError extends Error {
  constructor(
    readonly status: Status,
    readonly headers: Record<string, string> = {},
  ) {
    super(status.message ?? status.reason ?? 'request failed');
    this.name = 'StatusError';
  }

  get code(): number {
    return this.status.code ?? 500;
  }
}

/** The text kube-apiserver uses for the object of a conflicting write. */
export const OBJECT_MODIFIED = 'the object has been modified; please apply your changes to the latest version and try again';

/** `pods`, or `ingresses.networking.k8s.io` for a named group (schema.GroupResource.String()). */
export function qualifiedResource(gr: GroupResource): string {
  return gr.group ? `${gr.resource}.${gr.group}` : gr.resource;
}

function orderedDetails(details: StatusDetails): StatusDetails {
  const out: StatusDetails = {};
  if (details.name) out.name = details.name;
  if (details.group) out.group = details.group;
  if (details.kind) out.kind = details.kind;
  if (details.uid) out.uid = details.uid;
  if (details.causes && details.causes.length > 0) {
    out.causes = details.causes.map((c) => {
      const cause: StatusCause = {};
      if (c.reason) cause.reason = c.reason;
      if (c.message) cause.message = c.message;
      if (c.field) cause.field = c.field;
      return cause;
    });
  }
  if (details.retryAfterSeconds) out.retryAfterSeconds = details.retryAfterSeconds;
  return out;
}

/** Builds a Status in field order; `details` undefined leaves the field out, `{}` keeps it. */
export function status(
  code: number | undefined,
  reason: string | undefined,
  message: string | undefined,
  details?: StatusDetails,
  metadata: { continue?: string } = {},
  outcome: 'Failure' | 'Success' = 'Failure',
): Status {
  const body: Status = { kind: 'Status', apiVersion: 'v1', metadata: { ...metadata }, status: outcome };
  if (message) body.message = message;
  if (reason) body.reason = reason;
  if (details) body.details = orderedDetails(details);
  if (code) body.code = code;
  return body;
}

function resourceDetails(gr: GroupResource, name?: string): StatusDetails {
  return { name, group: gr.group, kind: gr.resource };
}

/** apierrors.NewNotFound: `pods "x" not found`. */
export function notFound(gr: GroupResource, name: string): StatusError {
  return new StatusError(status(404, 'NotFound', `${qualifiedResource(gr)} "${name}" not found`, resourceDetails(gr, name)));
}

/** apierrors.NewAlreadyExists: `pods "x" already exists`. */
export function alreadyExists(gr: GroupResource, name: string): StatusError {
  return new StatusError(status(409, 'AlreadyExists', `${qualifiedResource(gr)} "${name}" already exists`, resourceDetails(gr, name)));
}

/** apierrors.NewConflict: `Operation cannot be fulfilled on pods "x": <why>`. */
export function conflict(gr: GroupResource, name: string, why = OBJECT_MODIFIED): StatusError {
  return new StatusError(
    status(409, 'Conflict', `Operation cannot be fulfilled on ${qualifiedResource(gr)} "${name}": ${why}`, resourceDetails(gr, name)),
  );
}

/** apierrors.NewForbidden: `pods "p5" is forbidden: <why>`, or `pods is forbidden: <why>` without a name. */
export function forbidden(gr: GroupResource, name: string | undefined, why: string): StatusError {
  const subject = name ? `${qualifiedResource(gr)} "${name}"` : qualifiedResource(gr);
  return new StatusError(status(403, 'Forbidden', `${subject} is forbidden: ${why}`, resourceDetails(gr, name)));
}

/** What the authentication filter answers to a missing or unknown token. */
export function unauthorized(): StatusError {
  return new StatusError(status(401, 'Unauthorized', 'Unauthorized'));
}

/** The go-restful 405 (details present but empty), as for deletecollection on Services before 1.23. */
export function methodNotAllowed(): StatusError {
  return new StatusError(status(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource', {}));
}

/** A path no resource is registered under. */
export function serverNotFound(): StatusError {
  return new StatusError(status(404, 'NotFound', 'the server could not find the requested resource', {}));
}

/** apierrors.NewBadRequest. */
export function badRequest(message: string): StatusError {
  return new StatusError(status(400, 'BadRequest', message));
}

/** apierrors.NewResourceExpired (410 Expired), with the continue token to resume inconsistently when there is one. */
export function expired(message: string, continueToken?: string): StatusError {
  return new StatusError(status(410, 'Expired', message, undefined, continueToken ? { continue: continueToken } : {}));
}

/** A kind as Invalid errors name it: `Pod`, `SparkApplication.sparkoperator.k8s.io`. */
export interface GroupKind {
  group: string;
  kind: string;
}

/** apierrors.NewInvalid: `Pod "x" is invalid: <field>: <detail>` (422). */
export function invalid(gk: GroupKind, name: string, causes: { field: string; reason: string; message: string }[]): StatusError {
  const qualifiedKind = gk.group ? `${gk.kind}.${gk.group}` : gk.kind;
  const list = causes.map((c) => `${c.field}: ${c.message}`);
  const summary = list.length === 1 ? list[0] : `[${list.join(', ')}]`;
  return new StatusError(
    status(422, 'Invalid', `${qualifiedKind} "${name}" is invalid: ${summary}`, {
      name,
      group: gk.group,
      kind: gk.kind,
      causes,
    }),
  );
}

/** What a JSON patch whose `test` fails gets (apierrors.NewGenericServerResponse(422, …)). */
export function unprocessable(): StatusError {
  return new StatusError(status(422, 'Invalid', 'the server rejected our request due to an error in our request', {}));
}

/** apierrors.NewInternalError. */
export function internalError(cause: string): StatusError {
  return new StatusError(status(500, 'InternalError', `Internal error occurred: ${cause}`, { causes: [{ message: cause }] }));
}

/** apierrors.NewServiceUnavailable, with Retry-After when given. */
export function serviceUnavailable(message = 'the server is currently unable to handle the request', retryAfterSeconds?: number): StatusError {
  const headers: Record<string, string> = retryAfterSeconds ? { 'Retry-After': String(retryAfterSeconds) } : {};
  return new StatusError(
    status(503, 'ServiceUnavailable', message, retryAfterSeconds ? { retryAfterSeconds } : undefined),
    headers,
  );
}

/** apierrors.NewTooManyRequests: the Status form of a 429 (eviction and storage use it; APF sends plain text). */
export function tooManyRequests(retryAfterSeconds: number): StatusError {
  return new StatusError(status(429, 'TooManyRequests', 'Too many requests, please try again later.', { retryAfterSeconds }), {
    'Retry-After': String(retryAfterSeconds),
  });
}

/** The 415 for a body format the endpoint does not take. */
export function unsupportedMediaType(contentType: string, accepted: string[]): StatusError {
  return new StatusError(
    status(
      415,
      'UnsupportedMediaType',
      `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}`,
      undefined,
    ),
    { 'X-Unsupported-Content-Type': contentType },
  );
}

/** The cacher's answer to a resourceVersion newer than anything it has seen. */
export function tooLargeResourceVersion(requested: number, current: number): StatusError {
  return new StatusError(
    status(504, 'Timeout', `Too large resource version: ${requested}, current: ${current}`, {
      causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
      retryAfterSeconds: 1,
    }),
    { 'Retry-After': '1' },
  );
}

/** The Status a delete answers with for resources that do not return the deleted object. */
export function deleteSuccess(gr: GroupResource, name: string, uid: string): Status {
  return status(undefined, undefined, undefined, { name, group: gr.group, kind: gr.resource, uid }, {}, 'Success');
}
