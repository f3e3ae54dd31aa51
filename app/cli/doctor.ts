import { randomUUID } from 'node:crypto';
import { ApiException, AuthorizationV1Api, type KubeConfig } from '@kubernetes/client-node';
import { loadConfig, type Config } from '../../shared/config.js';
import { ConfigError, SparkfnError, errorMessage } from '../../shared/errors.js';
import { kubeConfigFromConfig } from '../../shared/k8s/client.js';
import { requestJson } from '../../shared/k8s/raw-request.js';
import { accessResourceName, LEADER_ELECTION_ROLE, LEASE_ACCESS, REQUIRED_ACCESS, type RequiredAccess } from '../../shared/k8s/required-access.js';
import { createKafka } from '../../shared/kafka/client.js';
import { silentLogger } from '../../shared/logger.js';
import type { ObjectStore } from '../../shared/store/object-store.js';
import { openStore } from '../../shared/store/open-store.js';
import { probeCreateOnly } from '../../shared/store/create-only.js';
import { getBuffer } from '../../shared/store/read.js';
import { formatTable } from '../../shared/text/table.js';
import type { DoctorReportJson } from './doctor-schema.js';
import { leaseNamespace } from './serve-leadership.js';

/**
 * How long each part may take to answer before doctor calls it unreachable: a black-holed address
 * must not hang the command, and every healthy part answers in well under a second.
 */
export const DEFAULT_DOCTOR_TIMEOUT_MS = 10_000;
/** Where the store probe goes: its own prefix, so that nothing a function reads can collide with it. */
export const DOCTOR_PROBE_PREFIX = 'doctor/';

/** Verbs in the order kubectl and RBAC docs list them, so rows read the same every time. */
const VERB_ORDER: readonly string[] = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection'];

/**
 * `ok` works; `FAIL` is needed and does not work; `warn` works with a limit the detail names (the
 * exit code stays 0); `skipped` is not configured (and not needed).
 */
export type CheckResult = 'ok' | 'FAIL' | 'warn' | 'skipped';

/** The doctor row about create-only writes (`ifNoneMatch: '*'`). */
export const CREATE_ONLY_CHECK = 'create-only writes (If-None-Match: *)';

/** One row of the doctor's table. */
export interface DoctorRow {
  part: 'config' | 'store' | 'kafka' | 'kubernetes' | 'fc';
  check: string;
  result: CheckResult;
  /** What was found, or for a FAIL what to fix. Never a secret. */
  detail: string;
}

export interface DoctorOptions {
  env: NodeJS.ProcessEnv;
  /** Per-part deadline; default `DEFAULT_DOCTOR_TIMEOUT_MS`. */
  timeoutMs?: number;
  /** FC credentials are needed (about to run `sparkfn deploy fc`): their absence fails. */
  deploy?: boolean;
  /** Ask can-i in this namespace instead of at cluster scope. */
  namespace?: string;
}

/** What doctor found: its rows, and whether the configuration itself was unusable. */
export interface DoctorReport {
  rows: DoctorRow[];
  failed: DoctorRow[];
  /** Set when the configuration could not be loaded (exit 2, like every other command). */
  configError?: ConfigError;
}

class TimeoutError extends SparkfnError {
  constructor(what: string, ms: number) {
    super(`${what} did not answer within ${ms} ms`);
    this.name = 'TimeoutError';
  }
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(what, ms)), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
    promise.catch(() => undefined);
  }
}

const sentence = (text: string) => text.replace(/\s+$/, '').replace(/\.$/, '');

function configRows(err: ConfigError): DoctorRow[] {
  const problems = err.problems.length > 0 ? err.problems : [{ variable: 'environment', message: err.message }];
  return problems.map((p) => ({ part: 'config', check: p.variable, result: 'FAIL', detail: sentence(p.message) }));
}

async function checkStore(config: Config, timeoutMs: number): Promise<DoctorRow[]> {
  const check = `write, read back, delete ${DOCTOR_PROBE_PREFIX}…`;
  let store: ObjectStore;
  try {
    store = openStore(config);
  } catch (err) {
    if (err instanceof ConfigError) return configRows(err).map((r) => ({ ...r, part: 'store' }));
    throw err;
  }
  const key = `${DOCTOR_PROBE_PREFIX}probe-${randomUUID()}.txt`;
  const body = `sparkfn doctor probe ${new Date().toISOString()}\n`;
  let stage = 'write';
  try {
    await withTimeout(
      (async () => {
        await store.put(key, body, { contentType: 'text/plain' });
        stage = 'read back';
        const back = (await getBuffer(store, key)).toString('utf8');
        if (back !== body) throw new SparkfnError(`the probe read back differs from what was written (${back.length} bytes, expected ${body.length})`);
        stage = 'delete';
        await store.delete(key);
        if (await store.head(key)) throw new SparkfnError('the probe is still there after delete');
      })(),
      timeoutMs,
      store.url,
    );
  } catch (err) {
    const hint = 'check SPARKFN_STORE, SPARKFN_S3_ENDPOINT and that the credentials may write, read and delete there';
    return [{ part: 'store', check, result: 'FAIL', detail: `${stage} failed: ${sentence(errorMessage(err))}; ${hint}` }];
  }
  return [{ part: 'store', check, result: 'ok', detail: store.url }, await checkCreateOnly(store, timeoutMs)];
}

/**
 * Writes a probe twice with `ifNoneMatch: '*'`: the store must refuse the second. Where it does
 * not (s3rver, some S3 look-alikes), spot-fallback's half-open probe is not exclusive (README,
 * "State under concurrency"): reported as `warn`, since everything else still works.
 */
async function checkCreateOnly(store: ObjectStore, timeoutMs: number): Promise<DoctorRow> {
  const limit = 'two instances may then each let a spot probe through (README, "State under concurrency"); use OSS, S3 or a store that enforces it';
  try {
    const support = await withTimeout(probeCreateOnly(store, DOCTOR_PROBE_PREFIX), timeoutMs, store.url);
    if (support === 'enforced') return { part: 'store', check: CREATE_ONLY_CHECK, result: 'ok', detail: 'enforced: a second create of the probe was refused' };
    return { part: 'store', check: CREATE_ONLY_CHECK, result: 'warn', detail: `not enforced: a second create of the probe overwrote it; ${limit}` };
  } catch (err) {
    return { part: 'store', check: CREATE_ONLY_CHECK, result: 'warn', detail: `a create-only write failed (${sentence(errorMessage(err))}); ${limit}` };
  }
}

async function checkKafka(config: Config, timeoutMs: number): Promise<DoctorRow[]> {
  const brokers = config.SPARKFN_KAFKA_BROKERS;
  if (!brokers || brokers.length === 0) {
    return [{ part: 'kafka', check: 'brokers', result: 'skipped', detail: 'SPARKFN_KAFKA_BROKERS is not set (log-archiver then runs only on FC/Lambda Kafka triggers)' }];
  }
  const client = createKafka({ brokers, clientId: config.SPARKFN_KAFKA_CLIENT_ID, logger: silentLogger, connectTimeoutMs: timeoutMs });
  const admin = client.kafka.admin();
  try {
    await client.connect(admin);
  } catch (err) {
    return [{ part: 'kafka', check: 'connect', result: 'FAIL', detail: sentence(errorMessage(err)) }];
  }
  const rows: DoctorRow[] = [{ part: 'kafka', check: 'connect', result: 'ok', detail: brokers.join(',') }];
  try {
    for (const topic of config.SPARKFN_KAFKA_TOPICS) {
      try {
        const { topics } = await withTimeout(admin.fetchTopicMetadata({ topics: [topic] }), timeoutMs, `metadata for topic ${topic}`);
        const partitions = topics.find((t) => t.name === topic)?.partitions ?? [];
        const leaderless = partitions.filter((p) => p.leader < 0 || p.partitionErrorCode !== 0).length;
        if (partitions.length === 0) rows.push({ part: 'kafka', check: `topic ${topic}`, result: 'FAIL', detail: `${topic} has no partitions; check SPARKFN_KAFKA_TOPICS` });
        else if (leaderless > 0) rows.push({ part: 'kafka', check: `topic ${topic}`, result: 'FAIL', detail: `${leaderless} of ${partitions.length} partitions have no leader` });
        else rows.push({ part: 'kafka', check: `topic ${topic}`, result: 'ok', detail: `${partitions.length} partitions` });
      } catch (err) {
        rows.push({ part: 'kafka', check: `topic ${topic}`, result: 'FAIL', detail: `${sentence(errorMessage(err))}; check SPARKFN_KAFKA_TOPICS and that the topic exists` });
      }
    }
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
  return rows;
}

interface UserInfo {
  username?: string;
  groups?: string[];
}

function apiErrorSummary(err: unknown): string {
  if (err instanceof ApiException) {
    let message = '';
    try {
      message = (JSON.parse(String(err.body)) as { message?: string }).message ?? '';
    } catch {
      message = '';
    }
    return `HTTP ${err.code}${message ? `: ${message}` : ''}`;
  }
  return errorMessage(err);
}

/**
 * Who the apiserver takes us for. SelfSubjectReview is GA in 1.28 and beta in 1.27; older
 * servers answer 404 (or 403 where the API is disabled), which is no reason to fail.
 */
async function whoAmI(kubeConfig: KubeConfig, timeoutMs: number): Promise<DoctorRow> {
  for (const version of ['v1', 'v1beta1']) {
    try {
      const review = await withTimeout(
        requestJson<{ status?: { userInfo?: UserInfo } }>(kubeConfig, {
          method: 'POST',
          path: `/apis/authentication.k8s.io/${version}/selfsubjectreviews`,
          body: { apiVersion: `authentication.k8s.io/${version}`, kind: 'SelfSubjectReview' },
        }),
        timeoutMs,
        kubeConfig.getCurrentCluster()?.server ?? 'the apiserver',
      );
      const user = review.status?.userInfo ?? {};
      const groups = user.groups?.length ? ` (groups ${user.groups.join(', ')})` : '';
      return { part: 'kubernetes', check: 'who am I', result: 'ok', detail: `${user.username ?? 'unknown user'}${groups}` };
    } catch (err) {
      if (err instanceof ApiException && (err.code === 404 || err.code === 403)) continue;
      throw err;
    }
  }
  return { part: 'kubernetes', check: 'who am I', result: 'ok', detail: 'authenticated; this apiserver does not serve SelfSubjectReview (Kubernetes < 1.27), so the user name is unknown' };
}

async function canI(api: AuthorizationV1Api, access: RequiredAccess, namespace: string | undefined, timeoutMs: number): Promise<boolean> {
  const review = await withTimeout(
    api.createSelfSubjectAccessReview({
      body: {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SelfSubjectAccessReview',
        spec: {
          resourceAttributes: {
            verb: access.verb,
            group: access.group,
            resource: access.resource,
            ...(access.subresource ? { subresource: access.subresource } : {}),
            ...(namespace ? { namespace } : {}),
          },
        },
      },
    }),
    timeoutMs,
    `can-i ${access.verb} ${accessResourceName(access)}`,
  );
  return review.status?.allowed === true;
}

async function checkKubernetes(config: Config, options: DoctorOptions, timeoutMs: number): Promise<DoctorRow[]> {
  let kubeConfig: KubeConfig | undefined;
  try {
    kubeConfig = await kubeConfigFromConfig(config);
  } catch (err) {
    if (err instanceof ConfigError) return configRows(err).map((r) => ({ ...r, part: 'kubernetes' }));
    throw err;
  }
  if (!kubeConfig) {
    return [{ part: 'kubernetes', check: 'cluster', result: 'skipped', detail: 'no cluster configured (SPARKFN_K8S_URL, KUBECONFIG, ~/.kube/config or in-cluster service account)' }];
  }
  const server = kubeConfig.getCurrentCluster()?.server ?? 'the apiserver';
  let identity: DoctorRow;
  try {
    identity = await whoAmI(kubeConfig, timeoutMs);
  } catch (err) {
    const hint = err instanceof ApiException && err.code === 401 ? 'the token was rejected; check SPARKFN_K8S_TOKEN, SPARKFN_K8S_TOKEN_FILE or the kubeconfig user' : 'check SPARKFN_K8S_URL (or KUBECONFIG) and that the apiserver is reachable from here';
    return [{ part: 'kubernetes', check: 'who am I', result: 'FAIL', detail: `${server}: ${sentence(apiErrorSummary(err))}; ${hint}` }];
  }
  const rows: DoctorRow[] = [identity, await checkLeader(config, kubeConfig, timeoutMs, Date.now())];
  const api = kubeConfig.makeApiClient(AuthorizationV1Api);
  const scope = options.namespace ? `in namespace ${options.namespace}` : 'cluster-wide';
  const [clusterAnswers, leaseRows] = await Promise.all([
    askAll(api, REQUIRED_ACCESS, options.namespace, timeoutMs),
    checkLeaseAccess(config, kubeConfig, api, timeoutMs),
  ]);
  rows.push(...canIRows(clusterAnswers, scope, 'grant it in the ClusterRole (deploy/)'), ...leaseRows);
  return rows;
}

interface CanIAnswer {
  access: RequiredAccess;
  allowed: boolean;
  /** Set when the review itself failed (not a denial). */
  error?: string;
}

async function askAll(api: AuthorizationV1Api, accesses: readonly RequiredAccess[], namespace: string | undefined, timeoutMs: number): Promise<CanIAnswer[]> {
  return Promise.all(
    accesses.map(async (access): Promise<CanIAnswer> => {
      try {
        return { access, allowed: await canI(api, access, namespace, timeoutMs) };
      } catch (err) {
        return { access, allowed: false, error: apiErrorSummary(err) };
      }
    }),
  );
}

/** One row per resource: what is allowed, and what is missing with who needs it and where to grant it. */
function canIRows(answers: readonly CanIAnswer[], scope: string, grant: string): DoctorRow[] {
  const rows: DoctorRow[] = [];
  const byResource = new Map<string, CanIAnswer[]>();
  for (const answer of answers) {
    const name = accessResourceName(answer.access);
    byResource.set(name, [...(byResource.get(name) ?? []), answer]);
  }
  for (const list of byResource.values()) list.sort((a, b) => VERB_ORDER.indexOf(a.access.verb) - VERB_ORDER.indexOf(b.access.verb));
  for (const [resource, list] of byResource) {
    const missing = list.filter((a) => !a.allowed);
    const allowed = list.filter((a) => a.allowed).map((a) => a.access.verb);
    if (missing.length === 0) {
      rows.push({ part: 'kubernetes', check: `can-i ${resource}`, result: 'ok', detail: `${allowed.join(', ')} (${scope})` });
      continue;
    }
    const errors = [...new Set(missing.flatMap((a) => (a.error ? [a.error] : [])))];
    const needers = [...new Set(missing.flatMap((a) => a.access.usedBy))].join(', ');
    const detail = errors.length > 0
      ? `could not ask: ${errors.join('; ')}`
      : `missing ${missing.map((a) => a.access.verb).join(', ')} (${scope}), needed by ${needers}; ${grant}`;
    rows.push({ part: 'kubernetes', check: `can-i ${resource}`, result: 'FAIL', detail: allowed.length > 0 ? `${detail}; allowed: ${allowed.join(', ')}` : detail });
  }
  return rows;
}

/** Where `sparkfn serve` keeps its Lease: SPARKFN_LEASE_NAMESPACE, else the kubeconfig context's, else `default` (as app/cli/serve-leadership.ts). */
/**
 * can-i for every LEASE_ACCESS verb in the Lease's namespace, whatever --namespace says: the Role
 * that grants them is bound there only. Asked only when serve would elect a leader (a cluster is
 * configured here, so SPARKFN_LEADER_ELECTION auto or on).
 */
async function checkLeaseAccess(config: Config, kubeConfig: KubeConfig, api: AuthorizationV1Api, timeoutMs: number): Promise<DoctorRow[]> {
  if (config.SPARKFN_LEADER_ELECTION === 'off') {
    const check = `can-i ${accessResourceName(LEASE_ACCESS[0]!)}`;
    return [{ part: 'kubernetes', check, result: 'skipped', detail: 'SPARKFN_LEADER_ELECTION=off: sparkfn serve takes no Lease' }];
  }
  const namespace = leaseNamespace(config, kubeConfig);
  const answers = await askAll(api, LEASE_ACCESS, namespace, timeoutMs);
  return canIRows(answers, `in namespace ${namespace}`, `grant it in the Role ${LEADER_ELECTION_ROLE} in namespace ${namespace} (deploy/rbac.yaml)`);
}

/** The Lease's spec as the apiserver sends it (MicroTime strings). */
interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  renewTime?: string;
  acquireTime?: string;
  leaseTransitions?: number;
}

/**
 * Who leads the singleton duties of `sparkfn serve` (timers, state-writing watches): the holder
 * of the Lease, since when, how fresh its renewal is, and how often leadership moved. A Lease
 * whose holder stopped renewing is a warning (nobody runs the timers until another replica takes
 * over); a Lease the account may not read fails, as no replica of it could lead.
 */
async function checkLeader(config: Config, kubeConfig: KubeConfig, timeoutMs: number, now: number): Promise<DoctorRow> {
  const check = 'leader';
  if (config.SPARKFN_LEADER_ELECTION === 'off') return { part: 'kubernetes', check, result: 'skipped', detail: 'SPARKFN_LEADER_ELECTION=off: every replica runs the timers itself' };
  const namespace = leaseNamespace(config, kubeConfig);
  const lease = `leases/${config.SPARKFN_LEASE_NAME} in ${namespace}`;
  let spec: LeaseSpec;
  try {
    const found = await withTimeout(
      requestJson<{ spec?: LeaseSpec }>(kubeConfig, { method: 'GET', path: `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/leases/${encodeURIComponent(config.SPARKFN_LEASE_NAME)}` }),
      timeoutMs,
      lease,
    );
    spec = found.spec ?? {};
  } catch (err) {
    if (err instanceof ApiException && err.code === 404) return { part: 'kubernetes', check, result: 'ok', detail: `no ${lease} yet: no sparkfn serve replica has led` };
    const hint = err instanceof ApiException && err.code === 403 ? `; grant get, list, watch, create, update on leases there (Role ${LEADER_ELECTION_ROLE} in deploy/rbac.yaml)` : '';
    return { part: 'kubernetes', check, result: 'FAIL', detail: `${lease}: ${sentence(apiErrorSummary(err))}${hint}` };
  }
  const transitions = `${spec.leaseTransitions ?? 0} transition(s)`;
  if (!spec.holderIdentity) return { part: 'kubernetes', check, result: 'ok', detail: `${lease} released, no leader now (a replica takes it within its retry period); ${transitions}` };
  const renewedAgo = spec.renewTime ? Math.max(0, Math.round((now - Date.parse(spec.renewTime)) / 1000)) : undefined;
  const since = spec.acquireTime ? `, leading since ${spec.acquireTime}` : '';
  const detail = `${spec.holderIdentity}${since}, renewed ${renewedAgo ?? '?'} s ago; ${transitions} (${lease})`;
  // Measured on this machine's clock against the leader's: only a hint, so a warning, never a failure.
  const stale = renewedAgo === undefined || renewedAgo > (spec.leaseDurationSeconds ?? 0);
  return stale
    ? { part: 'kubernetes', check, result: 'warn', detail: `${detail}: not renewed within its ${spec.leaseDurationSeconds ?? 0} s lease, so no replica runs the timers until another takes over` }
    : { part: 'kubernetes', check, result: 'ok', detail };
}

function checkFc(config: Config, deploy: boolean): DoctorRow[] {
  const id = Boolean(config.ALIBABA_CLOUD_ACCESS_KEY_ID);
  const secret = Boolean(config.ALIBABA_CLOUD_ACCESS_KEY_SECRET);
  const check = 'credentials';
  if (id && secret) return [{ part: 'fc', check, result: 'ok', detail: 'ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET are set (values not shown)' }];
  if (id || secret) {
    const [missing, present] = id ? ['ALIBABA_CLOUD_ACCESS_KEY_SECRET', 'ALIBABA_CLOUD_ACCESS_KEY_ID'] : ['ALIBABA_CLOUD_ACCESS_KEY_ID', 'ALIBABA_CLOUD_ACCESS_KEY_SECRET'];
    return [{ part: 'fc', check, result: 'FAIL', detail: `${present} is set but ${missing} is not; set both (or neither)` }];
  }
  if (deploy) return [{ part: 'fc', check, result: 'FAIL', detail: '`sparkfn deploy fc` needs ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET' }];
  return [{ part: 'fc', check, result: 'skipped', detail: 'not set; only `sparkfn deploy fc` needs them (run doctor --deploy to require them)' }];
}

/**
 * Checks the configuration and reaches every configured part: the store (always needed; a probe
 * object under `doctor/` is written, read back and deleted, then written twice create-only to see
 * whether the store enforces If-None-Match), Kafka when SPARKFN_KAFKA_BROKERS is
 * set (metadata for each of SPARKFN_KAFKA_TOPICS), the cluster when one is configured (who am I,
 * who leads `sparkfn serve`'s singleton duties, can-i for every access in REQUIRED_ACCESS, and,
 * unless SPARKFN_LEADER_ELECTION=off, can-i for LEASE_ACCESS in the Lease's namespace),
 * and FC credentials (presence only).
 * @example
 * const report = await runDoctor({ env: process.env });
 * if (report.failed.length > 0) process.exitCode = 1;
 */
export async function runDoctor(options: DoctorOptions): Promise<DoctorReport> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_DOCTOR_TIMEOUT_MS;
  let config: Config;
  try {
    config = loadConfig(options.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const rows = [
      ...configRows(err),
      ...(['store', 'kafka', 'kubernetes', 'fc'] as const).map((part): DoctorRow => ({ part, check: '-', result: 'skipped', detail: 'not checked: fix the configuration first' })),
    ];
    return { rows, failed: rows.filter((r) => r.result === 'FAIL'), configError: err };
  }
  const [store, kafka, kubernetes] = await Promise.all([checkStore(config, timeoutMs), checkKafka(config, timeoutMs), checkKubernetes(config, options, timeoutMs)]);
  const rows: DoctorRow[] = [
    { part: 'config', check: 'environment', result: 'ok', detail: `valid; store ${config.SPARKFN_STORE}` },
    ...store,
    ...kafka,
    ...kubernetes,
    ...checkFc(config, options.deploy ?? false),
  ];
  return { rows, failed: rows.filter((r) => r.result === 'FAIL') };
}

/** The report as the table `sparkfn doctor` prints, with a closing line saying what to do. */
export function formatDoctorReport(report: DoctorReport): string {
  const table = formatTable(['part', 'check', 'result', 'detail'], report.rows.map((r) => [r.part, r.check, r.result, r.detail]));
  const parts = [...new Set(report.failed.map((r) => r.part))];
  const warned = report.rows.some((r) => r.result === 'warn');
  const verdict = report.failed.length === 0 ? `All needed parts work${warned ? '; read the warn rows for their limits' : ''}.` : `${report.failed.length} check(s) failed (${parts.join(', ')}): fix the FAIL rows above.`;
  return `${table}\n\n${verdict}\n`;
}

/** The report as `sparkfn doctor -o json` prints it (app/cli/doctor-schema.ts). */
export function doctorJson(report: DoctorReport): DoctorReportJson {
  return { ok: report.failed.length === 0 && !report.configError, rows: report.rows.map(({ part, check, result, detail }) => ({ part, check, result, detail })) };
}

/**
 * `sparkfn doctor`: prints the table (or its JSON), then throws so that `main` exits non-zero when a needed
 * part fails: ConfigError (exit 2) for an unusable configuration, SparkfnError (exit 1) otherwise.
 */
export async function doctorCommand(options: DoctorOptions, out: (text: string) => void, output: 'table' | 'json' = 'table'): Promise<void> {
  const report = await runDoctor(options);
  out(output === 'json' ? JSON.stringify(doctorJson(report), null, 2) + '\n' : formatDoctorReport(report));
  if (report.configError) throw report.configError;
  if (report.failed.length > 0) {
    throw new SparkfnError(`doctor: ${report.failed.length} check(s) failed: ${report.failed.map((r) => `${r.part} ${r.check}`).join(', ')}.`);
  }
}
