import { describe, expect, it } from 'vitest';
import { runBurst } from './burst.js';

describe('quota-retry: a burst of 300 driver submissions', () => {
  it('ends with exactly one driver per submission, FIFO within a priority, caps kept and the queue empty', async () => {
    const report = await runBurst({ seed: 7 });
    console.log(
      `quota-retry burst: ${report.submissions} submissions, ${report.direct} created by the submitter, ${report.viaQuotaRetry} through quota-retry; ` +
        `${report.functionCalls} API calls for ${report.minimumCalls} admitted = ${report.ratio.toFixed(2)} calls per admitted submission (minimum 1.00); ` +
        `${report.drains} drains; retries ${JSON.stringify(report.retries)}; calls ${JSON.stringify(report.calls)}`,
    );
    expect(report.missing).toEqual([]);
    expect(report.duplicates).toEqual([]);
    expect(report.podCreates201).toBe(report.submissions);
    expect(report.deadLettered).toBe(0);
    expect(report.admittedByQuotaRetry).toBe(report.viaQuotaRetry);
    expect(report.viaQuotaRetry).toBeGreaterThan(200);
    expect(report.fifoViolations).toEqual([]);
    expect(report.capViolations).toEqual([]);
    expect(report.queueLeft).toEqual([]);
    expect(report.forbiddenToQuotaRetry).toBe(0);
    // Conflicts were injected and retried: the scenario exercised the race.
    expect(report.retries['quota-conflict'] ?? 0).toBeGreaterThan(50);
    expect(report.ratio).toBeLessThanOrEqual(2);
  }, 60_000);
});
