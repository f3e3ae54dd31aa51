import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../shared/config.js';
import { startServe, type RunningServe } from '../../app/cli/serve.js';
import { createDeps } from '../../shared/platform/runtime.js';
import type { SparkFunction } from '../../shared/platform/function.js';
import type { K8sObjectChange } from '../../shared/platform/trigger.js';
import { silentLogger } from '../../shared/logger.js';
import { startTestApiserver, type TestApiserver } from '../support/apiserver/index.js';

let apiserver: TestApiserver | undefined;
let serve: RunningServe | undefined;
afterEach(async () => {
  await serve?.close();
  await apiserver?.stop();
  serve = undefined;
  apiserver = undefined;
});

function driverPod(name: string, app: string) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'spark-jobs', labels: { 'spark-role': 'driver', 'spark-app-selector': app } },
    spec: { containers: [{ name: 'spark-kubernetes-driver', image: 'apache/spark:3.5.1' }] },
  };
}

describe('sparkfn serve with a cluster configured', () => {
  it('hands every watched change to the functions that asked, as k8s-objects, once each', async () => {
    apiserver = await startTestApiserver();
    const seen: K8sObjectChange[] = [];
    let notify: () => void = () => undefined;
    const watcher: SparkFunction = {
      name: 'watcher',
      triggers: ['k8s-objects'],
      watches: [{ path: '/api/v1/pods', labelSelector: 'spark-role=driver' }],
      async run(input) {
        if (input.kind === 'k8s-objects') seen.push(...input.changes);
        notify();
        return {};
      },
    };
    const until = (done: () => boolean) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`watch saw only ${seen.length} change(s)`)), 10_000);
        notify = () => {
          if (done()) {
            clearTimeout(timer);
            resolve();
          }
        };
        notify();
      });

    apiserver.put(driverPod('before-driver', 'spark-before'));
    apiserver.put({ ...driverPod('executor-1', 'spark-before'), metadata: { name: 'executor-1', namespace: 'spark-jobs', labels: { 'spark-role': 'executor' } } });
    const config = loadConfig({ SPARKFN_STORE: 'file:///tmp/sparkfn-serve-watch' });
    serve = await startServe({
      config,
      functions: [watcher],
      port: 0,
      host: '127.0.0.1',
      deps: createDeps(config, { logger: silentLogger }),
      kubeConfig: apiserver.kubeConfig(),
    });
    await until(() => seen.length >= 1);
    apiserver.put(driverPod('after-driver', 'spark-after'));
    apiserver.setPodPhase('spark-jobs', 'after-driver', 'Succeeded');
    await until(() => seen.some((c) => c.object.metadata.name === 'after-driver' && (c.object.status as { phase?: string })?.phase === 'Succeeded'));

    expect(seen.map((c) => `${c.type} ${c.object.metadata.name}`)).toEqual(['ADDED before-driver', 'ADDED after-driver', 'MODIFIED after-driver']);
    expect(seen.every((c) => c.object.metadata.labels?.['spark-role'] === 'driver')).toBe(true);
  });
});
