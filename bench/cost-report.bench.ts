// The HTML cost report's reading of the store (buildCostPage: one listing per day of the period
// and of the period before, then every record of both) against the text report's (buildReport:
// one listing of all of `costs/dt=`, then the period's records), on s3rver, for a 30-day report,
// with a short history (the 60 days the page reads) and a long one (BENCH_COST_HISTORY_DAYS).
// The page reads twice the records (this period and the one before), 16 requests at a time; what
// is checked is that its cost does not grow with the history the store keeps. Goal: the same
// number of requests with the long history as with the short one. Times are printed beside them:
// s3rver walks the `costs/` directory of its bucket on every listing, so its listings slow down a
// little as days are added, which an indexed store (S3, OSS) does not.
import { S3ObjectStore } from '../shared/store/s3-store.js';
import { startS3rver } from '../test/support/s3rver.js';
import { recordKey } from '../functions/job-cost/cost-record.js';
import { addDays } from '../functions/job-cost/record-reader.js';
import { buildReport } from '../functions/job-cost/report.js';
import { buildCostPage } from '../functions/job-cost/report-model.js';
import { reportHtml } from '../functions/job-cost/report-html.js';
import { loadPriceFile } from '../functions/job-cost/price-file.js';
import { planRecord } from '../test/job-cost/report-fixtures.js';

const HISTORY_DAYS = Number(process.env.BENCH_COST_HISTORY_DAYS ?? 365);
const APPS_PER_DAY = Number(process.env.BENCH_COST_APPS_PER_DAY ?? 8);
const PERIOD_DAYS = 30;
const ROUNDS = 7;
const TO = '2026-03-31';
const FROM = addDays(TO, -(PERIOD_DAYS - 1));
const by = { kind: 'label', key: 'team' } as const;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const s3 = await startS3rver();
  try {
    const prices = await loadPriceFile(new URL('../deploy/prices.example.yaml', import.meta.url).pathname);
    const storeWith = async (days: number) => {
      const store = new S3ObjectStore({ bucket: await s3.createBucket(), endpoint: s3.endpoint, forcePathStyle: true, credentials: s3.credentials });
      const puts: Promise<void>[] = [];
      for (let d = 0; d < days; d++) {
        const day = addDays(TO, -d);
        for (let i = 0; i < APPS_PER_DAY; i++) {
          const { record } = planRecord({ appId: `spark-${day}-${i}`, team: ['etl', 'ml', 'bi'][i % 3]!, day, pods: [{ role: 'driver', hours: 1 }, { hours: 1 + i, spot: i % 2 === 0 }], total: null, expected: null }, prices);
          puts.push(store.put(recordKey(day, 'spark-jobs', record.appId), JSON.stringify(record)));
        }
        if (puts.length >= 64) await Promise.all(puts.splice(0));
      }
      await Promise.all(puts);
      return store;
    };
    const short = await storeWith(2 * PERIOD_DAYS);
    const long = await storeWith(HISTORY_DAYS);

    const measure = async (work: () => Promise<unknown>) => {
      const times: number[] = [];
      let requests = 0;
      for (let r = 0; r < ROUNDS; r++) {
        const before = s3.requests.length;
        const t = performance.now();
        await work();
        times.push(performance.now() - t);
        requests = s3.requests.length - before;
      }
      return { ms: median(times), requests };
    };
    const page = (store: S3ObjectStore) => async () => reportHtml(await buildCostPage(store, { from: FROM, to: TO, by, prices }));
    const text = (store: S3ObjectStore) => () => buildReport(store, { from: FROM, to: TO, by });
    const results = {
      'text report, short history': await measure(text(short)),
      'text report, long history': await measure(text(long)),
      'html page, short history': await measure(page(short)),
      'html page, long history': await measure(page(long)),
    };
    console.log(`${PERIOD_DAYS}-day report, ${APPS_PER_DAY} apps a day; history of ${2 * PERIOD_DAYS} (short) and ${HISTORY_DAYS} (long) days; s3rver; median of ${ROUNDS} rounds`);
    for (const [name, r] of Object.entries(results)) console.log(`${name.padEnd(28)} ${r.ms.toFixed(1).padStart(8)} ms  ${String(r.requests).padStart(5)} requests`);
    const growth = results['html page, long history'].ms / results['html page, short history'].ms;
    const textGrowth = results['text report, long history'].ms / results['text report, short history'].ms;
    console.log(`html page long/short history: requests ${results['html page, long history'].requests}/${results['html page, short history'].requests} (goal: equal), time ${growth.toFixed(2)}; text report long/short time: ${textGrowth.toFixed(2)}`);
    console.log(`html page / text report, long history: ${(results['html page, long history'].ms / results['text report, long history'].ms).toFixed(2)}`);
    if (results['html page, long history'].requests !== results['html page, short history'].requests) process.exitCode = 1;
  } finally {
    await s3.stop();
  }
}

await main();
