import { describe, expect, it } from 'vitest';
import { formatDuration, formatMoney, formatRatio } from '../../functions/job-cost/report-format.js';
import { appRowsCsv, buildCostPage, costPageModel, previousPeriod, recordFlags, TOP_APPS } from '../../functions/job-cost/report-model.js';
import { readRecords } from '../../functions/job-cost/record-reader.js';
import { reportHtml } from '../../functions/job-cost/report-html.js';
import { niceTicks } from '../../functions/job-cost/report-svg.js';
import { CURRENT_APPS, handTotal, HOUR_ON_DEMAND, HOUR_SPOT_EXPECTED, OUTSIDE_APPS, PERIOD, planRecord, PREVIOUS, PREVIOUS_APPS, PRICE_LIMIT_PER_HOUR, writePlans } from './report-fixtures.js';
import { examplePrices, tempStore } from './support.js';

const byTeam = { kind: 'label', key: 'team' } as const;

async function fixtureStore() {
  const store = await tempStore();
  await writePlans(store, [...CURRENT_APPS, ...PREVIOUS_APPS, ...OUTSIDE_APPS], await examplePrices());
  return store;
}

describe('cost report model', () => {
  it('adds up the period and compares it with the period of the same length just before', async () => {
    const model = await buildCostPage(await fixtureStore(), { ...PERIOD, by: byTeam });
    expect(model.previous).toEqual(PREVIOUS);
    expect(model.currency).toBe('CNY');
    expect(model.totals.apps).toBe(CURRENT_APPS.length);
    expect(model.totals.unpriced).toBe(1);
    expect(model.totals.total).toBeCloseTo(handTotal(CURRENT_APPS), 6);
    expect(model.totals.expected).toBeCloseTo(handTotal(CURRENT_APPS, 'expected'), 6);
    expect(model.previousTotals.apps).toBe(2);
    expect(model.previousTotals.total).toBeCloseTo(10 * HOUR_ON_DEMAND, 6);
    expect(model.change.total).toBeCloseTo(handTotal(CURRENT_APPS) - 10 * HOUR_ON_DEMAND, 6);
    expect(model.change.ratio).toBeCloseTo((handTotal(CURRENT_APPS) - 10 * HOUR_ON_DEMAND) / (10 * HOUR_ON_DEMAND), 6);
    expect(model.rows.map((r) => r.appId)).not.toContain('spark-old-1');
    expect(model.rows.map((r) => r.appId)).not.toContain('spark-later-1');
    expect(model.problems).toEqual([]);
  });

  it('splits spot, on-demand and fallback, and prices the spot pods on-demand with the price file for the savings', async () => {
    const store = await fixtureStore();
    const withPrices = await buildCostPage(store, { ...PERIOD, by: byTeam, prices: await examplePrices() });
    const spotUpper = 6 * HOUR_ON_DEMAND + 3 * PRICE_LIMIT_PER_HOUR;
    expect(withPrices.mix.spot.podSeconds).toBe(9 * 3600);
    expect(withPrices.mix.spot.cost).toBeCloseTo(spotUpper, 6);
    expect(withPrices.mix.spot.expected).toBeCloseTo(9 * HOUR_SPOT_EXPECTED, 6);
    expect(withPrices.mix.fallback).toEqual({ podSeconds: 3 * 3600, cost: expect.closeTo(3 * HOUR_ON_DEMAND, 6), expected: expect.closeTo(3 * HOUR_ON_DEMAND, 6) });
    // etl-3's executor has a spec without a price; web was costed with no price file at all.
    expect(withPrices.mix.unpriced.podSeconds).toBe(3 * 3600);
    expect(withPrices.mix.spotAtOnDemand).toBeCloseTo(9 * HOUR_ON_DEMAND, 6);
    expect(withPrices.mix.savedExpected).toBeCloseTo(9 * HOUR_ON_DEMAND - 9 * HOUR_SPOT_EXPECTED, 6);
    expect(withPrices.mix.savedAtLeast).toBeCloseTo(3 * (HOUR_ON_DEMAND - PRICE_LIMIT_PER_HOUR), 6);
    expect(withPrices.mix.spotAtOnDemandFrom).toBe('price-file');
    const onDemandHours = 9 + 1 + 1 + 2 + 1 + CURRENT_APPS.filter((a) => a.team === 'bi').reduce((a, p) => a + p.pods.reduce((b, q) => b + q.hours, 0), 0);
    expect(withPrices.mix.onDemand.podSeconds).toBeCloseTo(onDemandHours * 3600, 3);
    // The upper bound counts the limit, not on-demand: the shares add up to the period's total.
    expect(withPrices.mix.onDemand.cost + withPrices.mix.spot.cost + withPrices.mix.fallback.cost).toBeCloseTo(withPrices.totals.total, 6);

    const without = await buildCostPage(store, { ...PERIOD, by: byTeam });
    expect(without.mix.spotAtOnDemandFrom).toBe('upper-bound');
    expect(without.mix.spotAtOnDemand).toBeCloseTo(spotUpper, 6);
    expect(without.mix.savedAtLeast).toBeCloseTo(0, 6);
  });

  it('stacks each day by team, ranks the costliest apps and flags the records to read with care', async () => {
    const model = await buildCostPage(await fixtureStore(), { ...PERIOD, by: byTeam });
    expect(model.days).toEqual(['2026-01-10', '2026-01-11', '2026-01-12', '2026-01-13', '2026-01-14', '2026-01-15', '2026-01-16']);
    expect(model.groups).toEqual(['bi', 'etl', 'ml', '<b>web</b>']);
    for (const [i, day] of model.days.entries()) {
      for (const [j, team] of model.groups.entries()) {
        expect(model.daily[i]![j], `${day} ${team}`).toBeCloseTo(handTotal(CURRENT_APPS.filter((a) => a.day === day && a.team === team)), 6);
      }
    }
    const ranked = CURRENT_APPS.filter((a) => a.total !== null).sort((a, b) => b.total! - a.total!).slice(0, TOP_APPS);
    expect(model.top.map((r) => r.appId)).toEqual(ranked.map((a) => a.appId));
    expect(model.top[0]).toMatchObject({ appId: 'spark-etl-1', appName: 'nightly-etl', group: 'etl', executors: 4, durationSeconds: 2 * 3600, logsUrl: 'logs/spark-etl-1' });
    const flags = Object.fromEntries(model.rows.filter((r) => r.flags.length).map((r) => [r.appId, r.flags.map((f) => f.kind)]));
    expect(flags).toEqual({ 'spark-etl-2': ['upper-bound'], 'spark-ml-1': ['upper-bound'], 'spark-ml-2': ['incomplete'], 'spark-etl-3': ['unpriced'], 'spark-web-1': ['unpriced'] });
    expect(model.rows.find((r) => r.appId === 'spark-web-1')!.flags[0]!.reason).toMatch(/No price file is configured/);
    expect(model.rows.find((r) => r.appId === 'spark-etl-3')!.flags[0]!.reason).toMatch(/^Executor 1: no price for instance spec ecs\.unknown9\.large .*not in the totals/);
  });

  it('gives the same model whatever order the records come in', async () => {
    const prices = await examplePrices();
    const dated = (plans: typeof CURRENT_APPS) => plans.map((p) => ({ day: p.day, key: p.appId, record: planRecord(p, prices).record }));
    const options = { ...PERIOD, by: byTeam, prices, logViewerBase: 'https://logs.example.com/' };
    const forward = costPageModel(dated(CURRENT_APPS), dated(PREVIOUS_APPS), options);
    const backward = costPageModel(dated([...CURRENT_APPS].reverse()), dated([...PREVIOUS_APPS].reverse()), options);
    expect(backward).toEqual(forward);
    expect(forward.top[0]!.logsUrl).toBe('https://logs.example.com/logs/spark-etl-1');
  });

  it('puts many groups past the palette into "other" and groups by day as one series', async () => {
    const prices = await examplePrices();
    const many = CURRENT_APPS.map((p, i) => ({ ...p, team: `team-${i}` }));
    const dated = many.map((p) => ({ day: p.day, key: p.appId, record: planRecord(p, prices).record }));
    const model = costPageModel(dated, [], { ...PERIOD, by: byTeam });
    expect(model.groups).toHaveLength(8);
    expect(model.groups.at(-1)).toBe('other');
    expect(model.daily.flat().reduce((a, b) => a + b, 0)).toBeCloseTo(handTotal(CURRENT_APPS), 6);
    expect(model.change.ratio).toBeNull();
    const byDay = costPageModel(dated, [], { ...PERIOD, by: { kind: 'day' } });
    expect(byDay.groups).toEqual(['all']);
  });

  it('writes the rows as CSV with plain numbers, quoting what needs it', async () => {
    const prices = await examplePrices();
    const plans = [{ ...CURRENT_APPS[0]!, appName: 'say "hi", then go' }, CURRENT_APPS[5]!];
    const model = costPageModel(plans.map((p) => ({ day: p.day, key: p.appId, record: planRecord(p, prices).record })), [], { ...PERIOD, by: byTeam });
    const lines = appRowsCsv(model).trimEnd().split('\n');
    expect(lines[0]).toBe('day,namespace,appId,appName,team,start,end,durationSeconds,executors,vcpuSeconds,gibSeconds,total,expected,onDemand,spot,spotExpected,currency,flags');
    expect(lines[1]).toBe(`2026-01-10,spark-jobs,spark-etl-1,"say ""hi"", then go",etl,2026-01-10T10:00:00.000Z,2026-01-10T12:00:00.000Z,7200,4,64800,129600,${9 * HOUR_ON_DEMAND},${9 * HOUR_ON_DEMAND},${9 * HOUR_ON_DEMAND},0,0,CNY,`);
    expect(lines[2]).toMatch(/^2026-01-16,spark-jobs,spark-web-1,<script>alert\(1\)<\/script>,<b>web<\/b>,.*,,,,,,,unpriced$/);
  });

  it('reports a record that does not parse and reads the others', async () => {
    const store = await fixtureStore();
    await store.put('costs/dt=2026-01-11/spark-jobs/broken.json', '{"appId": ');
    await store.put('costs/dt=2026-01-12/spark-jobs/odd.json', JSON.stringify({ appId: 'odd', namespace: 'spark-jobs', cost: { total: '3' } }));
    const { records, problems } = await readRecords(store, PERIOD.from, PERIOD.to);
    expect(records).toHaveLength(CURRENT_APPS.length);
    expect(problems).toEqual([
      expect.stringMatching(/^costs\/dt=2026-01-11\/spark-jobs\/broken\.json is not readable: /),
      'costs/dt=2026-01-12/spark-jobs/odd.json is not readable: its cost has no numeric total / expected',
    ]);
    const model = await buildCostPage(store, { ...PERIOD, by: byTeam });
    expect(model.totals.total).toBeCloseTo(handTotal(CURRENT_APPS), 6);
    expect(model.problems).toHaveLength(2);
  });

  it.each([
    ['2026-03-01', '2026-03-31', { from: '2026-01-29', to: '2026-02-28' }],
    ['2026-01-01', '2026-01-01', { from: '2025-12-31', to: '2025-12-31' }],
  ])('the period before %s..%s is %j', (from, to, expected) => {
    expect(previousPeriod(from, to)).toEqual(expected);
  });

  it.each([
    [7.3, [0, 2, 4, 6, 8]],
    [0.0042, [0, 0.001, 0.002, 0.003, 0.004, 0.005]],
    [100, [0, 20, 40, 60, 80, 100]],
    [0, [0]],
  ])('niceTicks(%d) is %j', (max, ticks) => {
    expect(niceTicks(max)).toEqual(ticks);
  });

  it.each([
    [1234.5, 'CNY', 'CN¥1,234.50'],
    [0.0042, 'USD', '$0.0042'],
    [0, 'EUR', '€0.00'],
    [2.5, null, '2.50'],
  ])('formatMoney(%d, %s) is %s', (value, currency, text) => {
    expect(formatMoney(value, currency)).toBe(text);
  });

  it('says durations and changes as people do', () => {
    expect([45, 725, 12_000, 190_000].map(formatDuration)).toEqual(['45 s', '12 min 5 s', '3 h 20 min', '2 d 4 h']);
    expect([0.125, -0.5, null].map(formatRatio)).toEqual(['+12.5 %', '\u221250 %', '\u2014']);
  });

  it('explains why a record is incomplete', async () => {
    const { record } = planRecord({ ...CURRENT_APPS[3]! }, await examplePrices());
    expect(recordFlags({ ...record, source: 'none' })).toContainEqual({ kind: 'incomplete', reason: expect.stringMatching(/neither an event log nor ledger/) });
    expect(recordFlags(record)).toContainEqual({ kind: 'incomplete', reason: expect.stringMatching(/event log stops before the app ended/) });
  });

  it('says on an empty page which period was asked and what the period before held', async () => {
    const prices = await examplePrices();
    const previous = PREVIOUS_APPS.map((p) => ({ day: p.day, key: p.appId, record: planRecord(p, prices).record }));
    const html = reportHtml(costPageModel([], previous, { ...PERIOD, by: byTeam }));
    expect(html).toContain('No cost records from 2026-01-10 to 2026-01-16.');
    expect(html).toContain('The previous period, 2026-01-03 to 2026-01-09, has 2 app(s) costing CN¥4.32.');
    expect(html).not.toContain('id="apps"');
  });
});
