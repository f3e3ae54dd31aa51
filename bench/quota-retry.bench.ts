// quota-retry: the 300-submission burst (3 departments, quota for 40 drivers, 30 % of
// creates answered with the injected 409 on the ResourceQuota, drivers finishing over time) at a
// fixed apiserver latency. Reports quota-retry's API calls per admitted submission against the
// minimum (one create per object a submission owns) and its wall time against the ideal at that
// latency (the minimum calls made one after another). Goal: calls / minimum ≤ 2.
import { runBurst } from '../test/quota-retry/burst.js';

const LATENCY_MS = 2;

const report = await runBurst({ seed: 7, latencyMs: LATENCY_MS });
const ideal = report.minimumCalls * LATENCY_MS;
console.log(`submissions: ${report.submissions} (${report.direct} created by the submitter, ${report.viaQuotaRetry} through quota-retry), drains: ${report.drains}`);
console.log(`quota-retry API calls: ${JSON.stringify(report.calls)}`);
console.log(`retries: ${JSON.stringify(report.retries)}`);
console.log(`calls per admitted submission: ${report.functionCalls} / ${report.minimumCalls} minimum = ${report.ratio.toFixed(2)}x (goal ≤ 2.00x)`);
console.log(`wall time at ${LATENCY_MS} ms per call: quota-retry ${(report.functionMs / 1000).toFixed(2)} s in its invocations vs ${(ideal / 1000).toFixed(2)} s for its minimum calls in sequence = ${(report.functionMs / ideal).toFixed(2)}x; whole burst ${(report.wallMs / 1000).toFixed(2)} s (submitter and test apiserver included)`);
console.log(`object store requests: ${report.storeTotal} = ${(report.storeTotal / report.viaQuotaRetry).toFixed(2)} per submission through quota-retry ${JSON.stringify(report.storeRequests)}`);
console.log(`exactly once: ${report.missing.length} lost, ${report.duplicates.length} duplicated, ${report.podCreates201} successful pod creates for ${report.submissions} submissions`);
if (report.ratio > 2 || report.missing.length || report.duplicates.length) process.exitCode = 1;
