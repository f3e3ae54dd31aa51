import { createHash } from 'node:crypto';
import { escapeHtml as e, formatDuration, formatHours, formatMoney, formatMoneyChange, formatRatio } from './report-format.js';
import { appRowsCsv, type AppRow, type CostPageModel } from './report-model.js';
import { PALETTE, paletteCss, stackedBarChart } from './report-svg.js';

const STYLE = `
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;padding:1rem;max-width:1200px;color:#1d232a;background:#fff}
h1{font-size:1.5rem;margin:.2rem 0}h2{font-size:1.15rem;margin:2rem 0 .5rem;border-bottom:1px solid #d8dde3;padding-bottom:.25rem}
.sub{color:#4b5563;margin:0 0 1rem}
.cards{display:flex;flex-wrap:wrap;gap:.75rem;margin:0;padding:0}
.card{flex:1 1 12rem;border:1px solid #d8dde3;border-radius:.5rem;padding:.6rem .8rem;margin:0}
.card dt{color:#4b5563;font-size:.85rem}.card dd{margin:0;font-size:1.35rem;font-variant-numeric:tabular-nums;overflow-wrap:anywhere}
.card dd small{display:block;font-size:.85rem;color:#4b5563}
.up{color:#b42318}.down{color:#067647}
.scroll{overflow-x:auto;max-width:100%;position:relative}
svg.chart{width:100%;min-width:560px;height:auto;font-size:13px}
svg .grid{stroke:#e5e7eb}svg .axis{stroke:#6b7280}svg text{fill:#374151}
.legend{list-style:none;padding:0;margin:.5rem 0;display:flex;flex-wrap:wrap;gap:.4rem 1rem}
.swatch{display:inline-block;width:.8rem;height:.8rem;border-radius:2px;margin-right:.35rem;vertical-align:-.05rem}
table{border-collapse:collapse;width:100%}
caption{text-align:left;color:#4b5563;padding:.25rem 0}
th,td{padding:.3rem .5rem;border-bottom:1px solid #e5e7eb;text-align:left;vertical-align:top}
th{background:#f3f4f6;font-weight:600;white-space:nowrap}
td.nowrap{white-space:nowrap}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
th button{font:inherit;font-weight:600;background:none;border:0;padding:0;cursor:pointer;color:inherit}
th button:focus-visible,a:focus-visible,.scroll:focus-visible{outline:2px solid #2563eb;outline-offset:2px}
th[aria-sort=ascending] button::after{content:" \\25B2"}th[aria-sort=descending] button::after{content:" \\25BC"}
code{font-size:.85em;overflow-wrap:anywhere}
.flag{display:inline-block;border-radius:.25rem;padding:0 .3rem;margin:0 .2rem .1rem 0;font-size:.8rem;background:#fef3c7;color:#713f12}
.flag.unpriced,.flag.errors{background:#fee2e2;color:#7f1d1d}
.empty{border:1px solid #d8dde3;border-radius:.5rem;padding:1rem;background:#f9fafb}
.download{display:inline-block;margin:.5rem 0;padding:.35rem .7rem;border:1px solid #2563eb;border-radius:.35rem;color:#1d4ed8;text-decoration:none}
${paletteCss()}
`;

/** Sorts #apps by a column when its header's button is pressed (click, Enter or Space): numbers by value, text by locale; aria-sort says how. */
const SCRIPT = `
(function () {
  var table = document.getElementById('apps');
  if (!table) return;
  var status = document.getElementById('sort-status');
  var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);
  headers.forEach(function (th, col) {
    var button = th.querySelector('button');
    if (!button) return;
    button.addEventListener('click', function () {
      var ascending = th.getAttribute('aria-sort') !== 'ascending';
      var numeric = th.dataset.type === 'number';
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      var key = function (row) {
        var v = row.cells[col].dataset.v;
        if (!numeric) return v;
        return v === '' ? -Infinity : Number(v);
      };
      rows.sort(function (a, b) {
        var x = key(a), y = key(b);
        var c = numeric ? (x < y ? -1 : x > y ? 1 : 0) : String(x).localeCompare(String(y));
        return ascending ? c : -c;
      });
      rows.forEach(function (row) { body.appendChild(row); });
      headers.forEach(function (other) { other.removeAttribute('aria-sort'); });
      th.setAttribute('aria-sort', ascending ? 'ascending' : 'descending');
      if (status) status.textContent = 'Sorted by ' + button.textContent + ', ' + (ascending ? 'ascending' : 'descending') + '.';
    });
  });
})();
`;

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

/** Nothing may load from anywhere: the style and script are allowed by their hashes, the CSV is a data: link. */
const CSP = `default-src 'none'; style-src ${sha256(STYLE)}; script-src ${sha256(SCRIPT)}; img-src data:; base-uri 'none'; form-action 'none'`;

const money = (model: CostPageModel, value: number | null) => (value === null ? '\u2014' : formatMoney(value, model.currency));

function flagsHtml(row: AppRow): string {
  return row.flags.map((f) => `<span class="flag ${e(f.kind)}" title="${e(f.reason)}">${e(f.kind)}</span>`).join('');
}

function appName(row: AppRow): string {
  return `${row.appName ? `${e(row.appName)}<br>` : ''}<code>${e(row.appId)}</code>`;
}

function changeHtml(model: CostPageModel): string {
  const { change, previous, previousTotals } = model;
  const period = `${e(previous.from)} to ${e(previous.to)}`;
  if (previousTotals.apps === 0) return `<small id="change">no records in the previous period (${period})</small>`;
  const direction = change.total > 0 ? 'up' : change.total < 0 ? 'down' : '';
  return `<small id="change" class="${direction}">${e(formatRatio(change.ratio))} (${e(formatMoneyChange(change.total, model.currency))}) against ${period}: ${e(formatMoney(previousTotals.total, model.currency))}</small>`;
}

function summary(model: CostPageModel): string {
  const { totals, mix } = model;
  const flagged = model.rows.filter((r) => r.flags.length > 0).length;
  return `<dl class="cards">
<div class="card"><dt>Total cost (spot at its upper bound)</dt><dd><span id="total">${e(formatMoney(totals.total, model.currency))}</span>${changeHtml(model)}</dd></div>
<div class="card"><dt>Expected cost (spot at its expected price)</dt><dd><span id="expected">${e(formatMoney(totals.expected, model.currency))}</span><small>${e(formatRatio(model.change.expectedRatio))} against the previous period</small></dd></div>
<div class="card"><dt>Spot saved (expected, against all on-demand)</dt><dd><span id="saved">${e(formatMoney(mix.savedExpected, model.currency))}</span><small>at least ${e(formatMoney(mix.savedAtLeast, model.currency))}</small></dd></div>
<div class="card"><dt>Apps</dt><dd><span id="apps-count">${totals.apps}</span><small>${e(formatHours(totals.vcpuSeconds))} vCPU-h, ${e(formatHours(totals.gibSeconds))} GiB-h</small></dd></div>
<div class="card"><dt>Records to read with care</dt><dd><a id="flagged-count" href="#flagged">${flagged}</a><small>${totals.unpriced} without money</small></dd></div>
</dl>`;
}

function chartSection(model: CostPageModel): string {
  const title = `Cost per day by ${model.groupTitle}, spot at its upper bound`;
  const legend = model.groups.map((g, j) => `<li><span class="swatch s${j % PALETTE.length}" aria-hidden="true"></span>${e(g)}</li>`).join('');
  const head = `<tr><th scope="col">day</th>${model.groups.map((g) => `<th scope="col" class="n">${e(g)}</th>`).join('')}<th scope="col" class="n">total</th></tr>`;
  const body = model.days
    .map((day, i) => {
      const values = model.daily[i]!;
      return `<tr><th scope="row">${e(day)}</th>${values.map((v) => `<td class="n">${e(money(model, v))}</td>`).join('')}<td class="n">${e(money(model, values.reduce((a, b) => a + b, 0)))}</td></tr>`;
    })
    .join('\n');
  return `<section aria-labelledby="daily-h"><h2 id="daily-h">${e(title)}</h2>
<div class="scroll" tabindex="0" role="region" aria-label="chart: ${e(title)}">${stackedBarChart({ id: 'daily-chart', title, days: model.days, groups: model.groups, values: model.daily, currency: model.currency })}</div>
<ul class="legend" aria-label="legend">${legend}</ul>
<details><summary>The same figures as a table</summary><div class="scroll" tabindex="0" role="region" aria-label="cost per day as a table"><table id="daily-table"><caption>${e(title)}</caption><thead>${head}</thead><tbody>${body}</tbody></table></div></details>
</section>`;
}

function capacitySection(model: CostPageModel): string {
  const { mix } = model;
  const row = (id: string, name: string, share: { podSeconds: number; cost: number; expected: number }) =>
    `<tr id="${id}"><th scope="row">${name}</th><td class="n">${e(formatHours(share.podSeconds))}</td><td class="n">${e(money(model, share.cost))}</td><td class="n">${e(money(model, share.expected))}</td></tr>`;
  const basis =
    mix.spotAtOnDemandFrom === 'price-file'
      ? 'Spot pods are priced on-demand with the configured price file.'
      : mix.spotAtOnDemandFrom === 'upper-bound'
        ? "Spot pods are priced on-demand at the records' spot upper bound (the on-demand price, unless a SpotWithPriceLimit limit was lower): with no price file given to the report, the savings are at least these."
        : 'No spot pod was priced in this period.';
  return `<section aria-labelledby="capacity-h"><h2 id="capacity-h">Spot, on-demand and spot fallback</h2>
<div class="scroll" tabindex="0" role="region" aria-labelledby="capacity-h"><table id="capacity"><caption>Pod-hours (drivers and executors) and money by how the pods were billed</caption>
<thead><tr><th scope="col">capacity</th><th scope="col" class="n">pod-hours</th><th scope="col" class="n">cost (upper bound)</th><th scope="col" class="n">expected</th></tr></thead>
<tbody>${row('cap-on-demand', 'on-demand', mix.onDemand)}${row('cap-spot', 'spot', mix.spot)}${row('cap-fallback', 'spot fallback (billed on-demand)', mix.fallback)}
<tr id="cap-unpriced"><th scope="row">unpriced</th><td class="n">${e(formatHours(mix.unpriced.podSeconds))}</td><td class="n">\u2014</td><td class="n">\u2014</td></tr></tbody></table></div>
<p id="savings">The spot pods would have cost <strong>${e(formatMoney(mix.spotAtOnDemand, model.currency))}</strong> on-demand: spot saved <strong>${e(formatMoney(mix.savedExpected, model.currency))}</strong> at expected spot prices, and at least ${e(formatMoney(mix.savedAtLeast, model.currency))} at their upper bound. ${e(basis)}</p>
</section>`;
}

function topSection(model: CostPageModel): string {
  const rows = model.top
    .map((r, i) => `<tr><td class="n">${i + 1}</td><td>${appName(r)}</td><td>${e(r.group)}</td><td class="n">${e(formatDuration(r.durationSeconds))}</td><td class="n">${r.executors}</td><td class="n">${e(money(model, r.total))}</td><td><a href="${e(r.logsUrl)}" aria-label="logs of ${e(r.appId)}">logs</a></td></tr>`)
    .join('\n');
  return `<section aria-labelledby="top-h"><h2 id="top-h">The ${model.top.length} costliest apps</h2>
<div class="scroll" tabindex="0" role="region" aria-labelledby="top-h"><table id="top"><thead><tr><th scope="col" class="n">#</th><th scope="col">app</th><th scope="col">${e(model.groupTitle)}</th><th scope="col" class="n">duration</th><th scope="col" class="n">executors</th><th scope="col" class="n">cost</th><th scope="col">logs</th></tr></thead>
<tbody>${rows}</tbody></table></div></section>`;
}

function flaggedSection(model: CostPageModel): string {
  const flagged = model.rows.filter((r) => r.flags.length > 0);
  const items = flagged
    .map((r) => `<tr><td>${appName(r)}<br>${e(r.namespace)} \u00b7 ${e(r.day)}</td><td><ul>${r.flags.map((f) => `<li><span class="flag ${e(f.kind)}">${e(f.kind)}</span> ${e(f.reason)}</li>`).join('')}</ul></td></tr>`)
    .join('\n');
  const legend = `<p><strong>upper-bound</strong>: some money is spot, counted at the on-demand price (or the price limit); the expected figure is beside it. <strong>incomplete</strong>: the app's lifetimes are not all known. <strong>unpriced</strong>: money is missing (no price file, or a spec without a price). <strong>errors</strong>, <strong>anomalies</strong>: what job-cost noticed while costing.</p>`;
  const body = flagged.length ? `<div class="scroll" tabindex="0" role="region" aria-labelledby="flagged-h"><table id="flagged-table"><thead><tr><th scope="col">app</th><th scope="col">why</th></tr></thead><tbody>${items}</tbody></table></div>` : '<p>None: every record is complete and priced at known prices.</p>';
  return `<section aria-labelledby="flagged-h" id="flagged"><h2 id="flagged-h">Records to read with care (${flagged.length})</h2>${legend}${body}</section>`;
}

interface Column {
  title: string;
  type: 'number' | 'text';
  cell: (row: AppRow) => { text: string; html?: string; value: string };
}

function columns(model: CostPageModel): Column[] {
  const num = (value: number | null, text: string) => ({ text, value: value === null ? '' : String(value) });
  const moneyCell = (value: number | null) => num(value, money(model, value));
  return [
    { title: 'day', type: 'text', cell: (r) => ({ text: r.day, value: r.day }) },
    { title: 'namespace', type: 'text', cell: (r) => ({ text: r.namespace, value: r.namespace }) },
    { title: 'app', type: 'text', cell: (r) => ({ text: r.appId, html: appName(r), value: r.appName ?? r.appId }) },
    { title: model.groupTitle, type: 'text', cell: (r) => ({ text: r.group, value: r.group }) },
    { title: 'duration', type: 'number', cell: (r) => num(r.durationSeconds, formatDuration(r.durationSeconds)) },
    { title: 'executors', type: 'number', cell: (r) => num(r.executors, String(r.executors)) },
    { title: 'vCPU-h', type: 'number', cell: (r) => num(r.vcpuSeconds, formatHours(r.vcpuSeconds)) },
    { title: 'cost', type: 'number', cell: (r) => moneyCell(r.total) },
    { title: 'expected', type: 'number', cell: (r) => moneyCell(r.expected) },
    { title: 'on-demand', type: 'number', cell: (r) => moneyCell(r.onDemand) },
    { title: 'spot (upper)', type: 'number', cell: (r) => moneyCell(r.spot) },
    { title: 'flags', type: 'text', cell: (r) => ({ text: r.flags.map((f) => f.kind).join(' '), html: flagsHtml(r), value: r.flags.map((f) => f.kind).join(' ') }) },
  ];
}

function appsSection(model: CostPageModel): string {
  const cols = columns(model);
  const head = cols.map((c) => `<th scope="col"${c.type === 'number' ? ' class="n" data-type="number"' : ' data-type="text"'}${c.title === 'cost' ? ' aria-sort="descending"' : ''}><button type="button">${e(c.title)}</button></th>`).join('');
  const body = model.rows
    .map((r) => `<tr>${cols.map((c) => {
      const cell = c.cell(r);
      return `<td${c.type === 'number' ? ' class="n"' : c.title === 'day' ? ' class="nowrap"' : ''} data-v="${e(cell.value)}">${cell.html ?? e(cell.text)}</td>`;
    }).join('')}</tr>`)
    .join('\n');
  const file = `spark-cost-${model.from}-to-${model.to}.csv`;
  const href = `data:text/csv;charset=utf-8,${encodeURIComponent(appRowsCsv(model))}`;
  return `<section aria-labelledby="apps-h"><h2 id="apps-h">Every app (${model.rows.length})</h2>
<p><a id="csv" class="download" href="${e(href)}" download="${e(file)}">Download these rows as CSV</a></p>
<p id="sort-status" class="sub" aria-live="polite">Sorted by cost, descending. Press a column's header to sort by it.</p>
<div class="scroll" tabindex="0" role="region" aria-labelledby="apps-h"><table id="apps"><caption>Every app that ended in the period; money in ${e(model.currency ?? 'the records\u2019 currencies')}</caption><thead><tr>${head}</tr></thead>
<tbody>${body}</tbody></table></div></section>`;
}

function problemsSection(model: CostPageModel): string {
  if (model.problems.length === 0) return '';
  return `<section aria-labelledby="problems-h"><h2 id="problems-h">Problems reading the records</h2><ul id="problems">${model.problems.map((p) => `<li>${e(p)}</li>`).join('')}</ul></section>`;
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${e(CSP)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${e(title)}</title>
<style>${STYLE}</style>
</head><body>
${body}
<script>${SCRIPT}</script>
</body></html>
`;
}

/**
 * The cost report as one self-contained page for people: totals and the change against the
 * period before, money per day stacked by group, spot / on-demand / fallback and what spot
 * saved, the costliest apps with a link to their logs, the records to read with care and why,
 * and a sortable table of every app with a CSV download of the same rows. Nothing is loaded
 * from anywhere (a Content-Security-Policy says so); every name from the records is escaped.
 * @example await writeFile('cost-report.html', reportHtml(await buildCostPage(store, { from, to, by })))
 */
export function reportHtml(model: CostPageModel): string {
  const title = `Spark job cost, ${model.from} to ${model.to}`;
  const sub = `<p class="sub">Grouped by ${e(model.groupTitle)} \u00b7 days are the UTC day each app ended \u00b7 money in ${e(model.currency ?? 'the records\u2019 currencies')} \u00b7 compared with ${e(model.previous.from)} to ${e(model.previous.to)}</p>`;
  if (model.rows.length === 0) {
    const before = model.previousTotals.apps > 0 ? ` The previous period, ${e(model.previous.from)} to ${e(model.previous.to)}, has ${model.previousTotals.apps} app(s) costing ${e(formatMoney(model.previousTotals.total, model.currency))}.` : '';
    return page(title, `<main><h1>${e(title)}</h1>${sub}
<div class="empty" id="empty" role="status"><p><strong>No cost records from ${e(model.from)} to ${e(model.to)}.</strong></p>
<p>Records are filed by the UTC day their app ended (<code>costs/dt=YYYY-MM-DD/</code>); ask for another period with <code>--from</code> and <code>--to</code>.${before}</p></div>
${problemsSection(model)}</main>`);
  }
  return page(title, `<main><h1>${e(title)}</h1>${sub}
${summary(model)}
${chartSection(model)}
${capacitySection(model)}
${topSection(model)}
${flaggedSection(model)}
${appsSection(model)}
${problemsSection(model)}
</main>`);
}
