/**
 * One janitor run in a child process, for the crash test (test/janitor/crash.test.ts): the real
 * core against the apiserver at `url` (the test's proxy) and a filesystem store, at a fixed time,
 * so the test can SIGKILL it in the middle of a call. Prints `@@ done <summary JSON>` when the run returns.
 * Run: node --import tsx test/janitor/crash-child.ts '{"url":…,"token":…,"storeDir":…,"nowMs":…}'
 */
import { KubeConfig } from '@kubernetes/client-node';
import { cleanUp } from '../../functions/janitor/clean-up.js';
import { ManualClock } from '../../shared/clock.js';
import { silentLogger } from '../../shared/logger.js';
import { Metrics } from '../../shared/metrics.js';
import { FileObjectStore } from '../../shared/store/fs-store.js';
import { TEST_SETTINGS } from './cluster.js';

const { url, token, storeDir, nowMs } = JSON.parse(process.argv[2] ?? '{}') as { url: string; token: string; storeDir: string; nowMs: number };
const kubeConfig = new KubeConfig();
kubeConfig.loadFromOptions({
  clusters: [{ name: 'test', server: url, skipTLSVerify: true }],
  users: [{ name: 'janitor', token }],
  contexts: [{ name: 'test', cluster: 'test', user: 'janitor' }],
  currentContext: 'test',
});
const { summary } = await cleanUp({ store: new FileObjectStore(storeDir), clock: new ManualClock(nowMs), logger: silentLogger, metrics: new Metrics(), kubeConfig }, TEST_SETTINGS);
process.stdout.write(`@@ done ${JSON.stringify(summary)}\n`);
