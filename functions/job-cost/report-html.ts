import type { CostReport } from './report.js';
import { reportCells } from './report.js';

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];
const CHART_HEIGHT = 220;
const BAR_GAP = 2;

function chart(report: CostReport): string {
  const days = [...new Set(report.daily.map((d) => d.day))];
  const groups = [...new Set(report.daily.map((d) => d.group))];
  if (days.length === 0) return '<p>No records in this period.</p>';
  const max = Math.max(...report.daily.map((d) => d.total), 1e-12);
  const slot = Math.max(groups.length * 14 + 10, 40);
  const width = days.length * slot + 60;
  const bars: string[] = [];
  days.forEach((day, i) => {
    groups.forEach((group, j) => {
      const total = report.daily.find((d) => d.day === day && d.group === group)?.total ?? 0;
      const h = (total / max) * (CHART_HEIGHT - 30);
      const x = 50 + i * slot + j * 14;
      bars.push(`<rect x="${x}" y="${CHART_HEIGHT - 20 - h}" width="${14 - BAR_GAP}" height="${h}" fill="${PALETTE[j % PALETTE.length]}"><title>${escape(`${day} ${group}: ${total.toFixed(4)}`)}</title></rect>`);
    });
    bars.push(`<text x="${50 + i * slot}" y="${CHART_HEIGHT - 5}" font-size="10">${escape(day.slice(5))}</text>`);
  });
  const legend = groups.map((g, j) => `<span style="color:${PALETTE[j % PALETTE.length]}">■</span> ${escape(g)}`).join(' &nbsp; ');
  return `<svg width="${width}" height="${CHART_HEIGHT}" role="img" aria-label="cost per day and group">
<line x1="48" y1="${CHART_HEIGHT - 20}" x2="${width}" y2="${CHART_HEIGHT - 20}" stroke="#999"/>
<text x="0" y="12" font-size="10">${escape(max.toFixed(4))}</text>
${bars.join('\n')}
</svg><p>${legend}</p>`;
}

/**
 * One self-contained page: no scripts or styles from the network, an inline SVG bar chart per
 * day and group, and a table that sorts when a header is clicked.
 */
export function reportHtml(report: CostReport): string {
  const [header, ...rows] = reportCells(report);
  const table = `<table id="costs"><thead><tr>${header!.map((h, i) => `<th data-col="${i}">${escape(h)}</th>`).join('')}</tr></thead>
<tbody>${rows.map((r) => `<tr>${r.map((c, i) => `<td${i > 0 ? ' class="n"' : ''}>${escape(c)}</td>`).join('')}</tr>`).join('\n')}</tbody></table>`;
  const problems = report.problems.length ? `<h2>Problems</h2><ul>${report.problems.map((p) => `<li>${escape(p)}</li>`).join('')}</ul>` : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Spark job cost ${escape(report.from)} to ${escape(report.to)}</title>
<style>body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse}th,td{padding:4px 8px;border-bottom:1px solid #ddd}th{cursor:pointer;background:#f4f4f4}td.n{text-align:right;font-variant-numeric:tabular-nums}</style>
</head><body>
<h1>Spark job cost by ${escape(report.by)}, ${escape(report.from)} to ${escape(report.to)}</h1>
<p>Spot money is shown at its upper bound (total); <em>expected</em> uses the price file's spot estimate.</p>
${chart(report)}
${table}
${problems}
<script>
document.querySelectorAll('#costs th').forEach(function (th) {
  th.addEventListener('click', function () {
    var col = +th.dataset.col, body = th.closest('table').tBodies[0];
    var asc = th.dataset.dir !== 'asc'; th.dataset.dir = asc ? 'asc' : 'desc';
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = a.cells[col].textContent, y = b.cells[col].textContent, nx = parseFloat(x), ny = parseFloat(y);
      var c = !isNaN(nx) && !isNaN(ny) ? nx - ny : x.localeCompare(y);
      return asc ? c : -c;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  });
});
</script>
</body></html>
`;
}
