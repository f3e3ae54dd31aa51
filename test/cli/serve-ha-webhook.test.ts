import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent, createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { ADMISSION_PATH } from '../../functions/spot-fallback/admission.js';
import { startServeChild, type ServeChild } from '../support/serve-child.js';

/** The webhook's timeoutSeconds in deploy/: the apiserver gives up on a review after this. */
const WEBHOOK_TIMEOUT_MS =
  1000 *
  (parseAllDocuments(readFileSync(new URL('../../deploy/spot-fallback/webhook.yaml', import.meta.url), 'utf8'))
    .map((d) => d.toJS() as { kind?: string; webhooks?: { timeoutSeconds: number }[] })
    .find((d) => d.kind === 'MutatingWebhookConfiguration')!.webhooks![0]!.timeoutSeconds);
/** The test's "Service" polls each replica's /readyz this often (the kubelet's probe, or the pod's deletion)… */
const ENDPOINTS_REFRESH_MS = 150;
/**
 * …and acts on what it saw this much later: the endpoints controller, the EndpointSlice and every
 * kube-proxy take a moment (typically 1–2 s in a busy cluster) before new connections stop going
 * to a pod that is going away.
 */
const ENDPOINTS_PROPAGATION_MS = 1_000;
/** deploy/ sets 5 s; here just longer than the refresh plus propagation above. */
const SHUTDOWN_DELAY_MS = 1_500;
/** One review every 20 ms, whatever the answers: a steady stream of pod creations (50 a second). */
const SEND_EVERY_MS = 20;
const REPLICAS = 3;
const ANSWERED_GOAL = 0.99;
/** Bounds on waiting (tsx compiles the sources on start; the machine is shared). */
const READY_WITHIN_MS = 90_000;
const POLL_MS = 50;

const reviewTemplate = JSON.parse(readFileSync(new URL('../../events/spot-fallback/data/admission-review-executor.json', import.meta.url), 'utf8')) as {
  request: { uid: string };
};

/**
 * The webhook's Service as the apiserver sees it: requests go round-robin to the replicas whose
 * /readyz answered 200 (an EndpointSlice's ready endpoints) as of `ENDPOINTS_PROPAGATION_MS` ago,
 * each over the replica's own kept-alive connections. A replica seen not ready gets nothing new.
 */
class TestService {
  private readonly replicas = new Map<string, { url: string; ready: boolean }>();
  private next = 0;
  private readonly agent = new Agent({ keepAlive: true });
  private readonly refresher: NodeJS.Timeout;
  private server: Server | undefined;
  url = '';
  /** Reviews the Service had no ready endpoint for. */
  noEndpoint = 0;

  constructor() {
    this.refresher = setInterval(() => void this.refresh(), ENDPOINTS_REFRESH_MS);
  }

  add(child: ServeChild): void {
    this.replicas.set(String(child.pid), { url: child.url, ready: false });
  }

  remove(child: ServeChild): void {
    this.replicas.delete(String(child.pid));
  }

  ready(child: ServeChild): boolean {
    return this.replicas.get(String(child.pid))?.ready ?? false;
  }

  async listen(): Promise<void> {
    this.server = createServer((req, res) => this.forward(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  private async refresh(): Promise<void> {
    await Promise.all(
      [...this.replicas.values()].map(async (replica) => {
        const ready = await fetch(`${replica.url}/readyz`, { signal: AbortSignal.timeout(ENDPOINTS_REFRESH_MS * 4) }).then(
          (r) => r.status === 200,
          () => false,
        );
        setTimeout(() => (replica.ready = ready), ENDPOINTS_PROPAGATION_MS);
      }),
    );
  }

  private forward(req: IncomingMessage, res: ServerResponse): void {
    const ready = [...this.replicas.values()].filter((r) => r.ready);
    if (ready.length === 0) {
      this.noEndpoint++;
      res.writeHead(503).end();
      return;
    }
    const target = ready[this.next++ % ready.length]!;
    const upstream = request(new URL(req.url!, target.url), { method: req.method, headers: req.headers, agent: this.agent }, (answer) => {
      res.writeHead(answer.statusCode!, answer.headers);
      answer.pipe(res);
    });
    // As kube-proxy's iptables rules: no retry on another endpoint; the client sees the failure.
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  }

  async close(): Promise<void> {
    clearInterval(this.refresher);
    this.agent.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/** Posts one AdmissionReview through the Service; true when it was answered, for this review, within the webhook timeout. */
function sendReview(serviceUrl: string, agent: Agent): Promise<boolean> {
  const uid = randomUUID();
  const body = Buffer.from(JSON.stringify({ ...reviewTemplate, request: { ...reviewTemplate.request, uid } }));
  return new Promise((resolve) => {
    const req = request(
      new URL(ADMISSION_PATH, serviceUrl),
      { method: 'POST', agent, timeout: WEBHOOK_TIMEOUT_MS, headers: { 'content-type': 'application/json', 'content-length': body.length } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          if (res.statusCode !== 200) return resolve(false);
          const answer = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { response?: { uid?: string; allowed?: boolean } };
          resolve(answer.response?.uid === uid && answer.response.allowed === true);
        });
        res.on('error', () => resolve(false));
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end(body);
  });
}

async function until(probe: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + READY_WITHIN_MS;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

describe('the admission webhook during a rolling restart of three sparkfn serve replicas', () => {
  let dir: string | undefined;
  const service = new TestService();
  const children: ServeChild[] = [];

  afterAll(async () => {
    await Promise.all(children.map((c) => c.stop(1_000)));
    await service.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it(`answers at least ${ANSWERED_GOAL * 100} % of a steady stream of reviews within the webhook timeout`, async () => {
    dir = await mkdtemp(join(tmpdir(), 'sparkfn-ha-webhook-'));
    const env = { SPARKFN_STORE: `file://${dir}`, SPARKFN_SHUTDOWN_DELAY_MS: String(SHUTDOWN_DELAY_MS), SPARKFN_LOG_LEVEL: 'info' };
    await service.listen();
    const start = async () => {
      const child = await startServeChild(env);
      children.push(child);
      service.add(child);
      await until(() => service.ready(child), `replica ${child.pid} to be ready`);
      return child;
    };
    const old = await Promise.all(Array.from({ length: REPLICAS }, start));

    const client = new Agent({ keepAlive: true });
    const answers: Promise<boolean>[] = [];
    let sending = true;
    const stream = (async () => {
      while (sending) {
        answers.push(sendReview(service.url, client));
        await new Promise((r) => setTimeout(r, SEND_EVERY_MS));
      }
    })();

    // As a Deployment with maxSurge 1 and maxUnavailable 0 rolls: a new replica, ready, then an old one terminated.
    const exits: { code: number | null; drainedMs: number }[] = [];
    for (const replica of old) {
      await start();
      const termAt = performance.now();
      process.kill(replica.pid, 'SIGTERM');
      const exit = await replica.exited;
      service.remove(replica);
      exits.push({ code: exit.code, drainedMs: Math.round(exit.atMs - termAt) });
    }
    sending = false;
    await stream;
    const results = await Promise.all(answers);
    client.destroy();

    const answered = results.filter(Boolean).length;
    const share = answered / results.length;
    console.log(
      `rolling restart of ${REPLICAS} replicas: ${answered} of ${results.length} reviews answered within ${WEBHOOK_TIMEOUT_MS / 1000} s ` +
        `(${(share * 100).toFixed(2)} %), ${service.noEndpoint} found no ready endpoint; SIGTERM → exit ${exits.map((e) => e.drainedMs).join(', ')} ms`,
    );
    for (const exit of exits) {
      expect(exit.code, 'SIGTERM ends serve cleanly').toBe(0);
      // The replica kept serving for the drain delay before it closed its listeners.
      expect(exit.drainedMs).toBeGreaterThanOrEqual(SHUTDOWN_DELAY_MS);
    }
    expect(results.length).toBeGreaterThan(200);
    expect(share, `${results.length - answered} reviews unanswered`).toBeGreaterThanOrEqual(ANSWERED_GOAL);
  }, 240_000);
});
