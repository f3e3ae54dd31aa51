import { escapeHtml, formatMoney } from './report-format.js';

/** Colour-blind-safe categorical palette (Tableau 10); series past it repeat. */
export const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];

/** The chart's drawing box: the SVG scales to its container, text scales with it. */
const WIDTH = 960;
const HEIGHT = 320;
const MARGIN = { top: 12, right: 16, bottom: 48, left: 96 };
/** About how wide a YYYY-MM-DD label is at the chart's font size, so labels never overlap. */
const DATE_LABEL_WIDTH = 84;
/** How many gridlines an axis aims at. */
const TICK_TARGET = 5;

/**
 * Axis values that people read at a glance: 0 and multiples of 1, 2, 2.5 or 5 × 10^n, covering `max`.
 * @example niceTicks(7.3) // [0, 2, 4, 6, 8]
 */
export function niceTicks(max: number, target = TICK_TARGET): number[] {
  if (!(max > 0)) return [0];
  const rough = max / target;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= rough - 1e-12)!;
  const steps = Math.ceil(max / step - 1e-9);
  return Array.from({ length: steps + 1 }, (_, i) => Number((i * step).toPrecision(12)));
}

export interface StackedChart {
  /** Element ids, so the page can point at the chart's title. */
  id: string;
  title: string;
  days: string[];
  groups: string[];
  /** Per day, per group. */
  values: number[][];
  currency: string | null;
}

/**
 * An inline SVG of money per day, one stacked bar per day and one colour per group, with a money
 * axis on nice ticks and ISO dates; each segment carries a <title> (day, group, money) and the
 * whole an accessible name and description. The legend and the data table are the page's.
 */
export function stackedBarChart(chart: StackedChart): string {
  const { days, groups, values, currency } = chart;
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const dayTotals = values.map((v) => v.reduce((a, b) => a + b, 0));
  const ticks = niceTicks(Math.max(0, ...dayTotals));
  const top = ticks[ticks.length - 1]! || 1;
  const y = (money: number) => MARGIN.top + plotHeight - (money / top) * plotHeight;
  const slot = plotWidth / Math.max(1, days.length);
  const barWidth = Math.max(1, slot * 0.78);
  const every = Math.max(1, Math.ceil((DATE_LABEL_WIDTH * days.length) / plotWidth));
  const parts: string[] = [];
  for (const tick of ticks) {
    parts.push(`<line class="grid" x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${y(tick).toFixed(1)}" y2="${y(tick).toFixed(1)}"/>`);
    parts.push(`<text class="ytick" x="${MARGIN.left - 8}" y="${(y(tick) + 4).toFixed(1)}" text-anchor="end">${escapeHtml(formatMoney(tick, currency))}</text>`);
  }
  days.forEach((day, i) => {
    const x = MARGIN.left + i * slot + (slot - barWidth) / 2;
    let base = 0;
    groups.forEach((group, j) => {
      const money = values[i]![j]!;
      if (money <= 0) return;
      const y0 = y(base);
      const y1 = y(base + money);
      base += money;
      parts.push(`<rect class="s${j % PALETTE.length}" x="${x.toFixed(1)}" y="${y1.toFixed(1)}" width="${barWidth.toFixed(1)}" height="${Math.max(0.5, y0 - y1).toFixed(1)}"><title>${escapeHtml(`${day} · ${group}: ${formatMoney(money, currency)}`)}</title></rect>`);
    });
    if (i % every === 0) parts.push(`<text class="xtick" x="${(MARGIN.left + i * slot + slot / 2).toFixed(1)}" y="${HEIGHT - MARGIN.bottom + 18}" text-anchor="middle">${escapeHtml(day)}</text>`);
  });
  parts.push(`<line class="axis" x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${y(0)}" y2="${y(0)}"/>`);
  parts.push(`<text class="label" x="${MARGIN.left + plotWidth / 2}" y="${HEIGHT - 8}" text-anchor="middle">day of the app's end (UTC)</text>`);
  const peak = dayTotals.length ? Math.max(...dayTotals) : 0;
  const description = `${days.length} days from ${days[0] ?? ''} to ${days[days.length - 1] ?? ''}; ${groups.length} series (${groups.join(', ')}); the costliest day cost ${formatMoney(peak, currency)}. The same figures are in the table below the chart.`;
  return `<svg id="${chart.id}" class="chart" viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-labelledby="${chart.id}-title ${chart.id}-desc" preserveAspectRatio="xMidYMid meet">
<title id="${chart.id}-title">${escapeHtml(chart.title)}</title>
<desc id="${chart.id}-desc">${escapeHtml(description)}</desc>
${parts.join('\n')}
</svg>`;
}

/** CSS for the series colours: `.s<n>` fills an SVG shape and colours an HTML swatch. */
export function paletteCss(): string {
  return PALETTE.map((colour, i) => `.s${i}{fill:${colour};background:${colour}}`).join('');
}
