import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CREATE_ONLY_CHECK } from '../../app/cli/doctor.js';
import { main, type Io } from '../../app/cli/main.js';
import { loadConfig } from '../../shared/config.js';
import { openStore } from '../../shared/store/open-store.js';
import { accessResourceName, LEASE_ACCESS, REQUIRED_ACCESS } from '../../shared/k8s/required-access.js';
import { startTestApiserver, type PolicyRule, type TestApiserver } from '../support/apiserver/index.js';
import { startMockKafka, type MockKafka } from '../support/kafka-mock.js';
import { startS3rver, type S3rverHarness } from '../support/s3rver.js';
import { produce, unique } from '../kafka/harness.js';
import { closedPort } from '../support/closed-port.js';

/** Short enough that the broker-down case fails fast, long enough for a healthy local part. */
const TIMEOUT_MS = '3000';
const SPARKFN_TOKEN = 'sparkfn-service-account-token';
const NO_EVICTION_TOKEN = 'sparkfn-without-eviction-token';
const NO_LEASE_UPDATE_TOKEN = 'sparkfn-without-lease-update-token';
const FC_SECRET = 'fc-secret-value-that-must-not-show';

/** deploy/rbac.yaml's Role sparkfn-leader-election, bound in sparkfn's namespace. */
const LEASE_RULE: PolicyRule = { verbs: ['get', 'list', 'watch', 'create', 'update'], apiGroups: ['coordination.k8s.io'], resources: ['leases'], namespaces: ['sparkfn'] };

/** The ClusterRole the functions need, as RBAC rules: one per (group, resource) with its verbs. */
function rulesFor(access: typeof REQUIRED_ACCESS, namespaces?: string[]): PolicyRule[] {
  const byResource = new Map<string, PolicyRule>();
  for (const a of access) {
    const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
    const rule = byResource.get(`${a.group} ${resource}`) ?? { verbs: [], apiGroups: [a.group], resources: [resource], ...(namespaces ? { namespaces } : {}) };
    rule.verbs.push(a.verb);
    byResource.set(`${a.group} ${resource}`, rule);
  }
  return [...byResource.values()];
}


let s3: S3rverHarness;
let kafka: MockKafka;
let apiserver: TestApiserver;
let bucket: string;
let topic: string;

beforeAll(async () => {
  [s3, kafka, apiserver] = await Promise.all([startS3rver(), startMockKafka(), startTestApiserver()]);
  bucket = await s3.createBucket();
  topic = unique('doctor-logs');
  await produce(kafka.brokers, topic, [{ value: 'hello' }]);
  apiserver.addUser(SPARKFN_TOKEN, 'system:serviceaccount:sparkfn:sparkfn', [...rulesFor(REQUIRED_ACCESS), LEASE_RULE]);
  apiserver.addUser(
    NO_EVICTION_TOKEN,
    'system:serviceaccount:sparkfn:no-eviction',
    [...rulesFor(REQUIRED_ACCESS.filter((a) => a.subresource !== 'eviction')), LEASE_RULE],
  );
  apiserver.addUser(
    NO_LEASE_UPDATE_TOKEN,
    'system:serviceaccount:sparkfn:no-lease-update',
    [...rulesFor(REQUIRED_ACCESS), { ...LEASE_RULE, verbs: LEASE_RULE.verbs.filter((v) => v !== 'update') }],
  );
  apiserver.addUser('spark-ns-token', 'system:serviceaccount:spark:sparkfn', [...rulesFor(REQUIRED_ACCESS, ['spark']), LEASE_RULE]);
});

afterAll(async () => {
  await Promise.all([s3?.stop(), kafka?.stop(), apiserver?.stop()]);
});

/** Every part configured and working, as the harness offers it. */
function healthyEnv(): NodeJS.ProcessEnv {
  return {
    ...s3.storeEnv(bucket, 'doctor-test'),
    SPARKFN_KAFKA_BROKERS: kafka.brokers.join(','),
    SPARKFN_KAFKA_TOPICS: topic,
    SPARKFN_K8S_URL: apiserver.url,
    SPARKFN_K8S_TOKEN: SPARKFN_TOKEN,
    SPARKFN_LEASE_NAMESPACE: 'sparkfn',
    ALIBABA_CLOUD_ACCESS_KEY_ID: 'LTAI5tDoctorTestId',
    ALIBABA_CLOUD_ACCESS_KEY_SECRET: FC_SECRET,
    SPARKFN_LOG_LEVEL: 'silent',
  };
}

async function doctor(env: NodeJS.ProcessEnv, args: string[] = []) {
  let out = '';
  let err = '';
  const io: Io = { out: (t) => void (out += t), err: (t) => void (err += t), env, stdin: Readable.from([]) };
  const code = await main(['node', 'sparkfn', 'doctor', '--timeout', TIMEOUT_MS, ...args], io);
  return { code, out, err, rows: parseRows(out) };
}

interface Row {
  part: string;
  check: string;
  result: string;
  detail: string;
}

/** The printed table back into rows, using the header's column offsets. */
function parseRows(out: string): Row[] {
  const lines = out.split('\n');
  const header = lines[0] ?? '';
  const at = ['part', 'check', 'result', 'detail'].map((h) => header.indexOf(h));
  const rows: Row[] = [];
  for (const line of lines.slice(2)) {
    if (line.trim() === '') break;
    const cell = (i: number) => line.slice(at[i], i + 1 < at.length ? at[i + 1] : undefined).trim();
    rows.push({ part: cell(0), check: cell(1), result: cell(2), detail: cell(3) });
  }
  return rows;
}

const row = (rows: Row[], part: string, check: string) => {
  const found = rows.find((r) => r.part === part && r.check === check);
  expect(found, `no row ${part} / ${check}`).toBeDefined();
  return found!;
};

const canIChecks = [...new Set(REQUIRED_ACCESS.map((a) => `can-i ${accessResourceName(a)}`))];
const LEASE_CHECK = `can-i ${accessResourceName(LEASE_ACCESS[0]!)}`;

describe('sparkfn doctor', () => {
  it('reports every configured part as working and exits 0 against the harness', async () => {
    apiserver.resetCalls();
    s3.requests.length = 0;
    const { code, out, err, rows } = await doctor(healthyEnv());

    expect(err).toBe('');
    expect(code).toBe(0);
    // s3rver ignores If-None-Match: reported, not failed.
    expect(rows.filter((r) => r.result !== 'ok').map((r) => `${r.part} ${r.check} ${r.result}`)).toEqual([`store ${CREATE_ONLY_CHECK} warn`]);
    expect(row(rows, 'store', CREATE_ONLY_CHECK).detail).toMatch(/^not enforced: a second create of the probe overwrote it/);
    expect(row(rows, 'config', 'environment').result).toBe('ok');
    expect(row(rows, 'store', 'write, read back, delete doctor/…').detail).toBe(`s3://${bucket}/doctor-test`);
    expect(row(rows, 'kafka', 'connect').result).toBe('ok');
    expect(row(rows, 'kafka', `topic ${topic}`).detail).toBe('4 partitions');
    expect(row(rows, 'kubernetes', 'who am I').detail).toBe('system:serviceaccount:sparkfn:sparkfn (groups system:authenticated)');
    for (const check of canIChecks) expect(row(rows, 'kubernetes', check).result).toBe('ok');
    expect(row(rows, 'kubernetes', 'can-i pods').detail).toBe('get, list, watch, create, patch, delete, deletecollection (cluster-wide)');
    expect(row(rows, 'fc', 'credentials').result).toBe('ok');
    expect(out).toContain('All needed parts work; read the warn rows for their limits.');
    // Presence only: no secret is ever printed.
    expect(out).not.toContain(FC_SECRET);
    expect(out).not.toContain(s3.credentials.secretAccessKey);

    expect(row(rows, 'kubernetes', LEASE_CHECK).detail).toBe('get, list, watch, create, update (in namespace sparkfn)');
    // One access review per required access and Lease verb, and the probe went through the bucket and is gone again.
    expect(apiserver.countCalls({ resource: 'selfsubjectaccessreviews', verb: 'create' })).toBe(REQUIRED_ACCESS.length + LEASE_ACCESS.length);
    expect(apiserver.countCalls({ resource: 'selfsubjectreviews', verb: 'create' })).toBe(1);
    const probeCalls = s3.requests.filter((r) => r.url.startsWith(`/${bucket}/doctor-test/doctor/probe-`)).map((r) => r.method);
    expect(probeCalls).toEqual(expect.arrayContaining(['PUT', 'GET', 'DELETE', 'HEAD']));
    expect((await openStore(loadConfig(healthyEnv())).list('doctor/')).objects).toEqual([]);
  });

  it('reports create-only writes as enforced on a filesystem store', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sparkfn-doctor-'));
    try {
      const env: NodeJS.ProcessEnv = { ...healthyEnv(), SPARKFN_STORE: pathToFileURL(dir).href };
      for (const name of Object.keys(env)) if (name.startsWith('SPARKFN_S3_') || name.startsWith('AWS_')) delete env[name];
      const { code, rows } = await doctor(env);
      expect(code).toBe(0);
      expect(row(rows, 'store', CREATE_ONLY_CHECK)).toMatchObject({ result: 'ok', detail: 'enforced: a second create of the probe was refused' });
      expect(await readdir(join(dir, 'doctor')).catch(() => [])).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('marks parts that are not configured as skipped and still exits 0', async () => {
    const env = healthyEnv();
    delete env.SPARKFN_KAFKA_BROKERS;
    delete env.ALIBABA_CLOUD_ACCESS_KEY_ID;
    delete env.ALIBABA_CLOUD_ACCESS_KEY_SECRET;
    const { code, rows } = await doctor(env);

    expect(code).toBe(0);
    expect(row(rows, 'kafka', 'brokers').result).toBe('skipped');
    expect(row(rows, 'fc', 'credentials').result).toBe('skipped');
    expect(row(rows, 'store', 'write, read back, delete doctor/…').result).toBe('ok');
  });

  it('names the store when the bucket does not exist', async () => {
    const { code, err, rows } = await doctor({ ...healthyEnv(), SPARKFN_STORE: 's3://no-such-bucket-doctor/x' });

    expect(code).toBe(1);
    const store = row(rows, 'store', 'write, read back, delete doctor/…');
    expect(store.result).toBe('FAIL');
    expect(store.detail).toMatch(/^write failed: .*The bucket "no-such-bucket-doctor" does not exist/);
    expect(store.detail).toContain('check SPARKFN_STORE');
    expect(rows.filter((r) => r.result === 'FAIL').map((r) => r.part)).toEqual(['store']);
    expect(err).toContain('doctor: 1 check(s) failed: store');
  });

  it('names Kafka when the broker is down', async () => {
    const port = await closedPort();
    const started = Date.now();
    const { code, out, rows } = await doctor({ ...healthyEnv(), SPARKFN_KAFKA_BROKERS: `127.0.0.1:${port}` });

    expect(code).toBe(1);
    const connect = row(rows, 'kafka', 'connect');
    expect(connect.result).toBe('FAIL');
    expect(connect.detail).toContain(`Could not connect to Kafka at 127.0.0.1:${port} within ${TIMEOUT_MS} ms`);
    expect(connect.detail).toContain('ECONNREFUSED');
    expect(rows.some((r) => r.part === 'kafka' && r.check.startsWith('topic'))).toBe(false);
    expect(rows.filter((r) => r.result === 'FAIL').map((r) => r.part)).toEqual(['kafka']);
    expect(out).toContain('1 check(s) failed (kafka)');
    // Bounded: the connect deadline, not kafkajs' minute of retries.
    expect(Date.now() - started).toBeLessThan(Number(TIMEOUT_MS) + 5_000);
  });

  it('shows who leads: the Lease holder, its renewal, and a warning when nobody renews it', async () => {
    const micro = (ms: number) => new Date(ms).toISOString().replace('Z', '000Z');
    const lease = (renewedMsAgo: number) => ({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'sparkfn-singletons', namespace: 'sparkfn' },
      spec: { holderIdentity: 'sparkfn-7d9f-abcde_1', leaseDurationSeconds: 15, acquireTime: micro(Date.now() - 60_000), renewTime: micro(Date.now() - renewedMsAgo), leaseTransitions: 3 },
    });
    const none = await doctor(healthyEnv());
    expect(row(none.rows, 'kubernetes', 'leader')).toMatchObject({ result: 'ok', detail: 'no leases/sparkfn-singletons in sparkfn yet: no sparkfn serve replica has led' });

    apiserver.put(lease(1_000));
    const fresh = await doctor(healthyEnv());
    expect(row(fresh.rows, 'kubernetes', 'leader').result).toBe('ok');
    expect(row(fresh.rows, 'kubernetes', 'leader').detail).toMatch(/^sparkfn-7d9f-abcde_1, leading since \S+, renewed [12] s ago; 3 transition\(s\)/);

    apiserver.put(lease(60_000));
    const stale = await doctor(healthyEnv());
    expect(stale.code).toBe(0);
    expect(row(stale.rows, 'kubernetes', 'leader').result).toBe('warn');
    expect(row(stale.rows, 'kubernetes', 'leader').detail).toContain('not renewed within its 15 s lease');
    apiserver.remove('leases', 'sparkfn', 'sparkfn-singletons');

    // The Lease elsewhere than the Role is bound: the account cannot read it, so no replica could lead.
    const denied = await doctor({ ...healthyEnv(), SPARKFN_LEASE_NAMESPACE: 'elsewhere' });
    expect(denied.code).toBe(1);
    expect(row(denied.rows, 'kubernetes', 'leader').result).toBe('FAIL');
    expect(row(denied.rows, 'kubernetes', 'leader').detail).toContain('Role sparkfn-leader-election');
  });

  it('names the missing RBAC verb and the function that needs it', async () => {
    const { code, rows } = await doctor({ ...healthyEnv(), SPARKFN_K8S_TOKEN: NO_EVICTION_TOKEN });

    expect(code).toBe(1);
    const eviction = row(rows, 'kubernetes', 'can-i pods/eviction');
    expect(eviction.result).toBe('FAIL');
    expect(eviction.detail).toBe('missing create (cluster-wide), needed by spot-fallback; grant it in the ClusterRole (deploy/)');
    expect(rows.filter((r) => r.result === 'FAIL').map((r) => r.check)).toEqual(['can-i pods/eviction']);
    expect(row(rows, 'kubernetes', 'who am I').detail).toContain('system:serviceaccount:sparkfn:no-eviction');
  });

  it('fails the Lease can-i row, naming the verb, namespace and Role, when the account may not update leases', async () => {
    const { code, err, out, rows } = await doctor({ ...healthyEnv(), SPARKFN_K8S_TOKEN: NO_LEASE_UPDATE_TOKEN }, ['-o', 'json']);

    expect(code).toBe(1);
    const report = JSON.parse(out) as { ok: boolean; rows: Row[] };
    expect(report.ok).toBe(false);
    expect(report.rows.filter((r) => r.result === 'FAIL')).toEqual([
      {
        part: 'kubernetes',
        check: 'can-i leases.coordination.k8s.io',
        result: 'FAIL',
        detail: 'missing update (in namespace sparkfn), needed by sparkfn serve (leader election); grant it in the Role sparkfn-leader-election in namespace sparkfn (deploy/rbac.yaml); allowed: get, list, watch, create',
      },
    ]);
    expect(err).toContain('kubernetes can-i leases.coordination.k8s.io');
  });

  it('asks about the Lease in its own namespace, whatever --namespace names', async () => {
    const env = { ...healthyEnv(), SPARKFN_K8S_TOKEN: 'spark-ns-token' };
    const { code, rows } = await doctor(env, ['--namespace', 'spark']);
    expect(code).toBe(0);
    expect(row(rows, 'kubernetes', LEASE_CHECK)).toMatchObject({ result: 'ok', detail: 'get, list, watch, create, update (in namespace sparkfn)' });

    const elsewhere = await doctor({ ...env, SPARKFN_LEASE_NAMESPACE: 'spark' }, ['--namespace', 'spark']);
    expect(elsewhere.code).toBe(1);
    expect(row(elsewhere.rows, 'kubernetes', LEASE_CHECK).detail).toMatch(/^missing get, list, watch, create, update \(in namespace spark\), needed by sparkfn serve \(leader election\); grant it in the Role sparkfn-leader-election in namespace spark/);
  });

  it('skips the Lease rows with SPARKFN_LEADER_ELECTION=off, even for an account without lease access', async () => {
    apiserver.resetCalls();
    const { code, rows } = await doctor({ ...healthyEnv(), SPARKFN_K8S_TOKEN: NO_LEASE_UPDATE_TOKEN, SPARKFN_LEADER_ELECTION: 'off' });

    expect(code).toBe(0);
    expect(row(rows, 'kubernetes', LEASE_CHECK)).toMatchObject({ result: 'skipped', detail: 'SPARKFN_LEADER_ELECTION=off: sparkfn serve takes no Lease' });
    expect(row(rows, 'kubernetes', 'leader').result).toBe('skipped');
    expect(apiserver.countCalls({ resource: 'selfsubjectaccessreviews', verb: 'create' })).toBe(REQUIRED_ACCESS.length);
  });

  it('asks in one namespace with --namespace, where a RoleBinding-style grant is enough', async () => {
    const env = { ...healthyEnv(), SPARKFN_K8S_TOKEN: 'spark-ns-token' };
    const inNamespace = await doctor(env, ['--namespace', 'spark']);
    const clusterWide = await doctor(env);

    expect(inNamespace.code).toBe(0);
    expect(row(inNamespace.rows, 'kubernetes', 'can-i pods').detail).toContain('(in namespace spark)');
    expect(clusterWide.code).toBe(1);
    expect(clusterWide.rows.filter((r) => r.result === 'FAIL').map((r) => r.check).sort()).toEqual([...canIChecks].sort());
  });

  it('names a bad configuration variable and exits 2 without reaching anything', async () => {
    apiserver.resetCalls();
    const { code, err, rows } = await doctor({ ...healthyEnv(), SPARKFN_JANITOR_TTL: 'soon' });

    expect(code).toBe(2);
    const bad = row(rows, 'config', 'SPARKFN_JANITOR_TTL');
    expect(bad.result).toBe('FAIL');
    expect(bad.detail).toContain('SPARKFN_JANITOR_TTL must be a duration such as 30m');
    expect(rows.filter((r) => r.part !== 'config').every((r) => r.result === 'skipped')).toBe(true);
    expect(err).toContain('SPARKFN_JANITOR_TTL');
    expect(apiserver.calls).toHaveLength(0);
  });

  it('fails the cluster on a token the apiserver rejects', async () => {
    const { code, rows } = await doctor({ ...healthyEnv(), SPARKFN_K8S_TOKEN: 'nobody-knows-this-token' });

    expect(code).toBe(1);
    const who = row(rows, 'kubernetes', 'who am I');
    expect(who.result).toBe('FAIL');
    expect(who.detail).toContain('HTTP 401');
    expect(who.detail).toContain('the token was rejected');
  });

  it('fails the cluster when the apiserver is not there', async () => {
    const port = await closedPort();
    const { code, rows } = await doctor({ ...healthyEnv(), SPARKFN_K8S_URL: `http://127.0.0.1:${port}` });

    expect(code).toBe(1);
    const who = row(rows, 'kubernetes', 'who am I');
    expect(who.result).toBe('FAIL');
    expect(who.detail).toContain('ECONNREFUSED');
    expect(who.detail).toContain('check SPARKFN_K8S_URL');
  });

  it('falls back when the apiserver does not serve SelfSubjectReview (before 1.28) and still checks access', async () => {
    const old = await startTestApiserver({ selfSubjectReview: false });
    try {
      const { code, rows } = await doctor({ ...healthyEnv(), SPARKFN_K8S_URL: old.url, SPARKFN_K8S_TOKEN: old.token });
      expect(code).toBe(0);
      const who = row(rows, 'kubernetes', 'who am I');
      expect(who.result).toBe('ok');
      expect(who.detail).toContain('does not serve SelfSubjectReview');
      expect(old.countCalls({ resource: 'selfsubjectreviews' })).toBe(2);
      for (const check of canIChecks) expect(row(rows, 'kubernetes', check).result).toBe('ok');
    } finally {
      await old.stop();
    }
  });

  it.each([
    ['only the id is set', { ALIBABA_CLOUD_ACCESS_KEY_SECRET: undefined }, [], 'ALIBABA_CLOUD_ACCESS_KEY_ID is set but ALIBABA_CLOUD_ACCESS_KEY_SECRET is not'],
    ['neither is set with --deploy', { ALIBABA_CLOUD_ACCESS_KEY_ID: undefined, ALIBABA_CLOUD_ACCESS_KEY_SECRET: undefined }, ['--deploy'], '`sparkfn deploy fc` needs'],
  ])('fails FC credentials when %s', async (_name, change, args, message) => {
    const { code, rows, out } = await doctor({ ...healthyEnv(), ...change }, args);

    expect(code).toBe(1);
    const fc = row(rows, 'fc', 'credentials');
    expect(fc.result).toBe('FAIL');
    expect(fc.detail).toContain(message);
    expect(out).not.toContain('LTAI5tDoctorTestId');
  });
});
