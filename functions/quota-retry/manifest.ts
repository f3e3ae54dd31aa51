import { createHash } from 'node:crypto';
import { InvalidInputError } from '../../shared/errors.js';

/** A Kubernetes object as JSON, as the submitter sent it. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    generateName?: string;
    namespace?: string;
    uid?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: unknown[];
    [field: string]: unknown;
  };
  spec?: unknown;
  [field: string]: unknown;
}

/** Annotation on everything quota-retry creates: whose object it is, so AlreadyExists can be told apart from a name clash. */
export const SUBMISSION_ANNOTATION = 'sparkfn.io/submission-id';
/**
 * The invocation that created the object. Name uniqueness lets exactly one create win, so the
 * winner's mark says which invocation may count the admission, even when its answer was lost.
 */
export const CREATED_BY_ANNOTATION = 'sparkfn.io/created-by-run';
/** Label on the driver (pod, or SparkApplication and its driver) that per-department caps count. */
export const DEPARTMENT_LABEL = 'sparkfn.io/department';

/** Kinds a manifest may hold, with the apiVersion each must have. */
export const SUPPORTED_KINDS: Readonly<Record<string, string>> = {
  Pod: 'v1',
  ConfigMap: 'v1',
  Service: 'v1',
  SparkApplication: 'sparkoperator.k8s.io/v1beta2',
};

/** Fields the apiserver sets; a create that carries `resourceVersion` is refused, the others are dropped. */
const SERVER_FIELDS = ['resourceVersion', 'uid', 'creationTimestamp', 'managedFields', 'selfLink', 'generation', 'deletionTimestamp'];
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

/** A submission's objects, ready to create in order: dependents first, the driver (pod or SparkApplication) last. */
export interface PreparedManifest {
  kind: 'pod' | 'spark-application';
  objects: KubeObject[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 10);
}

function prepareObject(raw: unknown, index: number, options: { submissionId: string; namespace: string; where: string }): KubeObject {
  const { where, namespace, submissionId } = options;
  if (!isRecord(raw)) throw new InvalidInputError(`${where} is not a Kubernetes object.`, 'unsupported-manifest');
  const kind = raw.kind;
  if (typeof kind !== 'string' || !(kind in SUPPORTED_KINDS)) {
    throw new InvalidInputError(`${where} is a ${JSON.stringify(kind ?? 'object without kind')}; a manifest holds a Pod (with ConfigMaps and Services in a List) or a SparkApplication.`, 'unsupported-manifest');
  }
  if (raw.apiVersion !== SUPPORTED_KINDS[kind]) {
    throw new InvalidInputError(`${where} (${kind}) has apiVersion ${JSON.stringify(raw.apiVersion)}; expected ${SUPPORTED_KINDS[kind]}.`, 'unsupported-manifest');
  }
  const object = structuredClone(raw) as KubeObject;
  const metadata = isRecord(object.metadata) ? object.metadata : {};
  object.metadata = metadata;
  if (metadata.namespace !== undefined && metadata.namespace !== namespace) {
    throw new InvalidInputError(`${where} (${kind}) is in namespace ${JSON.stringify(metadata.namespace)}, not the submission's ${JSON.stringify(namespace)}.`, 'namespace-mismatch');
  }
  for (const field of SERVER_FIELDS) delete metadata[field];
  delete object.status;
  // A generated name would differ on every retry: derive it from the submission instead.
  if (!metadata.name && typeof metadata.generateName === 'string') metadata.name = `${metadata.generateName}${shortHash(`${submissionId}/${index}`)}`;
  delete metadata.generateName;
  const name = metadata.name;
  const pattern = kind === 'Service' ? DNS_LABEL : DNS_SUBDOMAIN;
  const maxLength = kind === 'Service' ? 63 : 253;
  if (typeof name !== 'string' || name.length > maxLength || !pattern.test(name)) {
    throw new InvalidInputError(`${where} (${kind}) needs metadata.name or metadata.generateName giving a valid name; got ${JSON.stringify(name ?? null)}.`, 'invalid-name');
  }
  metadata.namespace = namespace;
  metadata.annotations = { ...(isRecord(metadata.annotations) ? metadata.annotations : {}), [SUBMISSION_ANNOTATION]: submissionId };
  return object;
}

function labelDriver(driver: KubeObject, department: string | undefined): void {
  if (!department) return;
  driver.metadata!.labels = { ...(driver.metadata!.labels ?? {}), [DEPARTMENT_LABEL]: department };
  if (driver.kind === 'SparkApplication' && isRecord(driver.spec)) {
    // spark-operator puts spec.driver.labels on the driver pod it creates: the caps count that pod.
    const spec = driver.spec as { driver?: { labels?: Record<string, string> } };
    spec.driver = { ...(spec.driver ?? {}), labels: { ...(spec.driver?.labels ?? {}), [DEPARTMENT_LABEL]: department } };
  }
}

/**
 * Checks a submission's manifest and turns it into the objects to create, each with a name
 * derived from the submission (kept when given, `generateName` + a hash of the submission id
 * otherwise), the submission's namespace, and the `sparkfn.io/submission-id` annotation.
 * A manifest is a Pod, a SparkApplication, or a `List` of ConfigMaps and Services in creation
 * order with exactly one Pod (moved last: dependents exist before the driver that mounts them).
 * @example prepareManifest({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'etl-driver' }, spec }, { submissionId: 's-1', namespace: 'spark-jobs' })
 */
export function prepareManifest(manifest: unknown, options: { submissionId: string; namespace: string; department?: string }): PreparedManifest {
  if (!isRecord(manifest)) throw new InvalidInputError('The manifest is not a Kubernetes object.', 'unsupported-manifest');
  const base = { submissionId: options.submissionId, namespace: options.namespace };
  if (manifest.kind === 'List' || manifest.kind?.toString().endsWith('List')) {
    const items = manifest.items;
    if (!Array.isArray(items) || items.length === 0) throw new InvalidInputError('The manifest List has no items.', 'unsupported-manifest');
    const objects = items.map((item, i) => prepareObject(item, i, { ...base, where: `manifest item ${i}` }));
    const pods = objects.filter((o) => o.kind === 'Pod');
    if (pods.length !== 1 || objects.some((o) => o.kind === 'SparkApplication')) {
      throw new InvalidInputError(`A manifest List holds exactly one driver Pod and the ConfigMaps and Services it needs; this one has ${pods.length} Pod(s).`, 'unsupported-manifest');
    }
    const names = new Set(objects.map((o) => `${o.kind}/${o.metadata!.name}`));
    if (names.size !== objects.length) throw new InvalidInputError('The manifest List names the same object twice.', 'unsupported-manifest');
    labelDriver(pods[0]!, options.department);
    return { kind: 'pod', objects: [...objects.filter((o) => o.kind !== 'Pod'), pods[0]!] };
  }
  const object = prepareObject(manifest, 0, { ...base, where: 'The manifest' });
  if (object.kind !== 'Pod' && object.kind !== 'SparkApplication') {
    throw new InvalidInputError(`The manifest is a ${object.kind}; send the driver Pod (its ConfigMaps and Services with it in a List) or a SparkApplication.`, 'unsupported-manifest');
  }
  labelDriver(object, options.department);
  return { kind: object.kind === 'Pod' ? 'pod' : 'spark-application', objects: [object] };
}
