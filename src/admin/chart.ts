// Sessions per minute as an SVG bar chart, drawn on the server (no script, no library): one
// bar per minute, stacked by outcome, each with a <title> the browser shows on hover. Only
// numbers and fixed words go into it.
import { html, trusted } from './html.ts';
import type { Html } from './html.ts';

export interface MinuteCounts {
  /** ISO time of the minute's start */
  minute: string;
  counts: Partial<Record<string, number>>;
}

/** The outcomes a bar is stacked from, bottom up, with their colour (and the legend's order). */
export const SERIES: ReadonlyArray<{ state: string; colour: string; label: string }> = [
  { state: 'delivered', colour: '#1e8e3e', label: 'delivered' },
  { state: 'skipped', colour: '#9aa0a6', label: 'skipped' },
  { state: 'retrying', colour: '#f9ab00', label: 'retrying' },
  { state: 'rejected', colour: '#e37400', label: 'rejected' },
  { state: 'failed', colour: '#d93025', label: 'failed' },
];

const W = 720;
const H = 160;
const LEFT = 36;
const BOTTOM = 20;
const TOP = 8;

/** A round scale top at or above n (1, 2, 5, 10, 20, 50 ...). */
function niceMax(n: number): number {
  if (n <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(n));
  for (const m of [1, 2, 5, 10]) if (m * p >= n) return m * p;
  return 10 * p;
}

/** HH:MM of a time (only digits and a colon reach the SVG, whatever it is given) */
const hhmm = (iso: string) => {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? '--:--' : new Date(t).toISOString().slice(11, 16);
};
/** a count as a whole number (only digits reach the SVG) */
const count = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? Math.floor(v) : 0);

export function minuteChart(minutes: readonly MinuteCounts[]): Html {
  const n = Math.max(1, minutes.length);
  const totals = minutes.map((m) => SERIES.reduce((s, x) => s + count(m.counts[x.state]), 0));
  const top = niceMax(Math.max(0, ...totals));
  const plotW = W - LEFT - 4;
  const plotH = H - TOP - BOTTOM;
  const step = plotW / n;
  const barW = Math.max(1, step - 2);
  const y = (v: number) => TOP + plotH - (v / top) * plotH;
  const bars: string[] = [];
  minutes.forEach((m, i) => {
    let base = 0;
    const x = (LEFT + i * step + 1).toFixed(1);
    const parts = SERIES.filter((s) => count(m.counts[s.state]) > 0).map((s) => `${count(m.counts[s.state])} ${s.label}`);
    const title = `${hhmm(m.minute)} UTC: ${parts.length ? parts.join(', ') : 'nothing'}`;
    const rects: string[] = [];
    for (const s of SERIES) {
      const v = count(m.counts[s.state]);
      if (v <= 0) continue;
      const y1 = y(base + v);
      const h = y(base) - y1;
      rects.push(`<rect x="${x}" y="${y1.toFixed(1)}" width="${barW.toFixed(1)}" height="${Math.max(0.5, h).toFixed(1)}" fill="${s.colour}"/>`);
      base += v;
    }
    // a full-height transparent bar carries the title, so hovering an empty minute says so too
    bars.push(`<g><title>${title}</title><rect x="${x}" y="${TOP}" width="${barW.toFixed(1)}" height="${plotH}" fill="transparent"/>${rects.join('')}</g>`);
  });
  const ticks: string[] = [];
  minutes.forEach((m, i) => {
    if (i % 15 !== 0 && i !== minutes.length - 1) return;
    const x = (LEFT + i * step + (i === 0 ? 1 : i === minutes.length - 1 ? step - 1 : step / 2)).toFixed(1);
    const anchor = i === 0 ? 'start' : i === minutes.length - 1 ? 'end' : 'middle';
    ticks.push(`<text x="${x}" y="${H - 5}" text-anchor="${anchor}">${hhmm(m.minute)}</text>`);
  });
  const grid = [0, top / 2, top]
    .map((v) => `<line x1="${LEFT}" x2="${W - 4}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#dadce0"/><text x="${LEFT - 4}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${v}</text>`)
    .join('');
  const total = totals.reduce((a, b) => a + b, 0);
  const svg = `<svg class="chart" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="sessions per minute, last ${minutes.length} minutes (UTC): ${total} in all" font-size="10" font-family="sans-serif">${grid}${bars.join('')}${ticks.join('')}</svg>`;
  const legend = SERIES.map((s) => html`<span class="key"><span class="swatch s-${s.state}"></span>${s.label}</span>`);
  return html`${trusted(svg)}<p class="legend">${legend}</p>`;
}
