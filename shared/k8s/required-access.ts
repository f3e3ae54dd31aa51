/**
 * Every Kubernetes API access the functions make, in one place: `sparkfn doctor` asks the
 * apiserver about each (SelfSubjectAccessReview), and deploy/'s ClusterRole grants exactly these.
 * Read off the calls in functions/*: typed client-node calls, raw requests, and the collections
 * `sparkfn serve` watches for a function (a watch is a list, then a watch from its resourceVersion).
 *
 * Kubernetes Events reach job-cost and log-archiver through kube-eventer's webhook or Kafka sink,
 * never from the apiserver, so `events` is not here.
 */
export interface RequiredAccess {
  verb: 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';
  /** API group: `''` for core. */
  group: string;
  /** Plural, as in RBAC rules. */
  resource: string;
  subresource?: string;
  /** The functions that make this call (what breaks without it). */
  usedBy: readonly string[];
}

const SPARK_GROUP = 'sparkoperator.k8s.io';
const NETWORKING_GROUP = 'networking.k8s.io';

type Use = readonly [verb: RequiredAccess['verb'], group: string, resource: string, subresource?: string];

/** What each function calls, as written in its code. */
const USES: Readonly<Record<string, readonly Use[]>> = {
  // inventory lists, one deletecollection per kind per app, per-object deletes where deletecollection answers 405 (functions/janitor/kinds.ts, apply.ts).
  janitor: [
    ['list', '', 'pods'],
    ['list', '', 'configmaps'],
    ['list', '', 'services'],
    ['list', NETWORKING_GROUP, 'ingresses'],
    ['list', SPARK_GROUP, 'sparkapplications'],
    ['deletecollection', '', 'pods'],
    ['deletecollection', '', 'configmaps'],
    ['deletecollection', '', 'services'],
    ['deletecollection', NETWORKING_GROUP, 'ingresses'],
    ['delete', '', 'pods'],
    ['delete', '', 'configmaps'],
    ['delete', '', 'services'],
    ['delete', NETWORKING_GROUP, 'ingresses'],
    ['delete', SPARK_GROUP, 'sparkapplications'],
  ],
  // re-creating a driver and its objects, merge patches, the drain's reads, and serve's watches (functions/quota-retry/kube-objects.ts, drain.ts, handler.ts).
  'quota-retry': [
    ['create', '', 'pods'],
    ['create', '', 'configmaps'],
    ['create', '', 'services'],
    ['create', SPARK_GROUP, 'sparkapplications'],
    ['get', '', 'pods'],
    ['get', '', 'configmaps'],
    ['get', '', 'services'],
    ['get', SPARK_GROUP, 'sparkapplications'],
    ['patch', '', 'configmaps'],
    ['patch', '', 'services'],
    ['patch', SPARK_GROUP, 'sparkapplications'],
    ['list', '', 'pods'],
    ['list', '', 'resourcequotas'],
    ['watch', '', 'resourcequotas'],
    ['list', SPARK_GROUP, 'sparkapplications'],
    ['watch', SPARK_GROUP, 'sparkapplications'],
  ],
  // recycle and reclaim (functions/spot-fallback/cluster.ts) and serve's executor pod watch.
  'spot-fallback': [
    ['get', '', 'pods'],
    ['patch', '', 'pods'],
    ['delete', '', 'pods'],
    ['create', '', 'pods', 'eviction'],
    ['list', '', 'pods'],
    ['watch', '', 'pods'],
  ],
  // serve's pod watches (functions/job-cost/handler.ts, functions/log-archiver/driver-pod.ts), and for
  // job-cost with a cluster in its deps, which app a SparkApplication end is: its status, else its
  // driver pod (shared/spark/spark-application-lookup.ts).
  'job-cost': [
    ['list', '', 'pods'],
    ['watch', '', 'pods'],
    ['get', SPARK_GROUP, 'sparkapplications'],
    ['get', '', 'pods'],
  ],
  'log-archiver': [
    ['list', '', 'pods'],
    ['watch', '', 'pods'],
  ],
  // the live half of an executor log: its pod by labels in every namespace, the pod again while
  // following, and the pod's log (functions/log-viewer/live-pod.ts, live-pod-log.ts).
  'log-viewer': [
    ['list', '', 'pods'],
    ['get', '', 'pods'],
    ['get', '', 'pods', 'log'],
  ],
  // serve's watches, or the timer's list snapshot, of what the monitor models (functions/spark-monitor/snapshot.ts).
  'spark-monitor': [
    ['list', '', 'pods'],
    ['watch', '', 'pods'],
    ['list', '', 'configmaps'],
    ['watch', '', 'configmaps'],
    ['list', '', 'services'],
    ['watch', '', 'services'],
    ['list', NETWORKING_GROUP, 'ingresses'],
    ['watch', NETWORKING_GROUP, 'ingresses'],
    ['list', '', 'resourcequotas'],
    ['watch', '', 'resourcequotas'],
    ['list', SPARK_GROUP, 'sparkapplications'],
    ['watch', SPARK_GROUP, 'sparkapplications'],
  ],
};

const key = (verb: string, group: string, resource: string, subresource?: string) => `${verb} ${group}/${resource}/${subresource ?? ''}`;

/** `pods`, `pods/eviction`, `ingresses.networking.k8s.io`: how kubectl and RBAC messages name a resource. */
export function accessResourceName(access: Pick<RequiredAccess, 'group' | 'resource' | 'subresource'>): string {
  const resource = access.group ? `${access.resource}.${access.group}` : access.resource;
  return access.subresource ? `${resource}/${access.subresource}` : resource;
}

function collect(): RequiredAccess[] {
  const byKey = new Map<string, RequiredAccess>();
  for (const [fn, uses] of Object.entries(USES)) {
    for (const [verb, group, resource, subresource] of uses) {
      const k = key(verb, group, resource, subresource);
      const found = byKey.get(k);
      if (found) found.usedBy = [...found.usedBy, fn];
      else byKey.set(k, { verb, group, resource, ...(subresource ? { subresource } : {}), usedBy: [fn] });
    }
  }
  return [...byKey.values()];
}

/**
 * The distinct (verb, group, resource, subresource) the functions need, each with the functions
 * that use it. All at cluster scope: serve's watches span every namespace.
 * @example REQUIRED_ACCESS.find((a) => a.verb === 'create' && a.subresource === 'eviction')?.usedBy // ['spot-fallback']
 */
export const REQUIRED_ACCESS: readonly RequiredAccess[] = collect();

/** Who uses the Lease: not a function but `sparkfn serve` itself, for its singleton duties. */
export const LEADER_ELECTION_USER = 'sparkfn serve (leader election)';

/** The Role in deploy/rbac.yaml that grants LEASE_ACCESS in the Lease's namespace. */
export const LEADER_ELECTION_ROLE = 'sparkfn-leader-election';

/**
 * What `sparkfn serve`'s leader election calls on its `coordination.k8s.io/v1` Lease
 * (shared/k8s/leader-election.ts): get, create when there is none, update (renew, take over,
 * release), and list then watch so that followers see a release at once. Namespaced, unlike
 * REQUIRED_ACCESS: granted by the Role `sparkfn-leader-election` in the Lease's namespace
 * (SPARKFN_LEASE_NAMESPACE, the pod's own in deploy/), never cluster-wide. `sparkfn doctor` asks
 * about each there unless SPARKFN_LEADER_ELECTION=off.
 * @example LEASE_ACCESS.map((a) => a.verb) // ['get', 'create', 'update', 'list', 'watch']
 */
export const LEASE_ACCESS: readonly RequiredAccess[] = (['get', 'create', 'update', 'list', 'watch'] as const).map((verb) => ({
  verb,
  group: 'coordination.k8s.io',
  resource: 'leases',
  usedBy: [LEADER_ELECTION_USER],
}));
