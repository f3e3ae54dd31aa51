import { copyFile, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { main, type Io } from '../../app/cli/main.js';
import { fn } from '../../functions/job-cost/handler.js';
import { EVENTS_DIR } from '../support/events.js';
import { FIXTURES_DIR } from './support.js';

const APP = 'application_1578436911597_0052';
// events/job-cost/listener-app-end.json ends this app in namespace spark-jobs.
const EVENT = join(EVENTS_DIR, 'job-cost', 'listener-app-end.json');

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sparkfn-job-cost-cli-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function invoke() {
  let out = '';
  let err = '';
  const io: Io = {
    out: (t) => void (out += t),
    err: (t) => void (err += t),
    env: { SPARKFN_STORE: `file://${dir}/store`, SPARKFN_LOG_LEVEL: 'silent' },
    stdin: Readable.from([]),
  };
  const code = await main(['node', 'sparkfn', 'invoke', 'job-cost', '--event', EVENT], io, [fn]);
  return { code, out, err };
}

describe('sparkfn invoke job-cost', () => {
  it('exits 1 when the app has no event log and no ledger, naming the keys it looked for', async () => {
    const { code, out, err } = await invoke();
    expect(code).toBe(1);
    expect(err).toContain(`spark-jobs/${APP}: Neither an event log (looked for spark-events/${APP}[_<attempt>][.<codec>][.inprogress] and spark-events/eventlog_v2_${APP}[_<attempt>]/events_<n>_${APP}[_<attempt>][.<codec>][.inprogress]) nor ledger entries were found`);
    // A listener's app-end is an HTTP call: the answer is printed with its status, the summary in its body.
    const answer = JSON.parse(out) as { status: number; body: string };
    expect(answer.status).toBe(503);
    expect(JSON.parse(answer.body)).toMatchObject({ ends: 1, recorded: 0, failed: 1, records: [{ appId: APP, source: 'none', total: null }] });
    // The record is there, saying what is missing: not a quiet zero.
    const [day] = await readdir(join(dir, 'store', 'costs'));
    const record = JSON.parse(await readFile(join(dir, 'store', 'costs', day!, 'spark-jobs', `${APP}.json`), 'utf8')) as { source: string; cost: unknown; errors: string[] };
    expect(record).toMatchObject({ source: 'none', cost: null });
    expect(record.errors[0]).toContain('looked for spark-events/');
  });

  it('exits 0 once the event log is there', async () => {
    await mkdir(join(dir, 'store', 'spark-events'), { recursive: true });
    await copyFile(join(FIXTURES_DIR, APP), join(dir, 'store', 'spark-events', APP));
    const { code, out } = await invoke();
    expect(code).toBe(0);
    const answer = JSON.parse(out) as { status: number; body: string };
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ recorded: 1, failed: 0, records: [{ appId: APP, source: 'event-log' }] });
  });
});
