// Line charts as inline SVG for report.html: axes with round ticks, a grid, a legend, every
// point's value on hover (an SVG <title>, no script), a linear or a logarithmic y axis.

export interface Series {
  name: string;
  color: string;
  points: Array<[number, number]>; // (step, value)
}

export const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** Round values 1, 2 or 5 times a power of ten apart (the step nearest (hi - lo) / count), within [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  const step = tickStep(lo, hi, count);
  if (!step) return [lo];
  const ticks: number[] = [];
  for (let i = Math.ceil(lo / step); i * step <= hi + step * 1e-9; i++) ticks.push(+(i * step).toPrecision(12));
  return ticks;
}

/** The tick step niceTicks uses, or 0 where [lo, hi] is too narrow to divide. */
function tickStep(lo: number, hi: number, count: number): number {
  const raw = (hi - lo) / count;
  if (!(raw > 0) || !Number.isFinite(raw) || lo + raw / 1e3 === lo) return 0;
  const mag = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * mag).reduce((a, b) => (Math.abs(Math.log(b / raw)) < Math.abs(Math.log(a / raw)) ? b : a));
}

/** Ticks of a log axis: 1, 2 and 5 times the powers of ten in [lo, hi]; linear ones within a decade. */
function logTicks(lo: number, hi: number): number[] {
  const ticks: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of [1, 2, 5]) {
      const t = +(m * 10 ** e).toPrecision(12);
      if (t >= lo && t <= hi) ticks.push(t);
    }
  }
  return ticks.length >= 3 ? ticks : niceTicks(lo, hi, 4);
}

/** A number as a label: as many decimals as `step` (the ticks' spacing) needs, an exponent only where it must. */
export function formatValue(v: number, step = 0): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e6 || a < 1e-3) return v.toExponential(step > 0 ? Math.max(1, Math.ceil(Math.log10(a / step))) : 3).replace('e+', 'e');
  return step > 0 ? v.toFixed(Math.max(0, -Math.floor(Math.log10(step)))) : String(+v.toPrecision(5));
}

const MAX_POINTS = 1000;

/** At most MAX_POINTS of a series, evenly spaced, the first and last kept: the page stays small on long runs. */
const thin = (points: Array<[number, number]>) =>
  points.length <= MAX_POINTS ? points : points.filter((_, i) => i % Math.ceil(points.length / MAX_POINTS) === 0 || i === points.length - 1);

const span = (vs: number[]) => vs.reduce(([lo, hi], v) => [Math.min(lo, v), Math.max(hi, v)], [Infinity, -Infinity]);

/**
 * A chart of the series over the steps, 560 x 250 px (two fit side by side in a 1280 px window).
 * `log` draws y on a log scale (values must be > 0; others are left out). Empty when no series
 * has a point.
 */
export function lineChart(id: string, title: string, series: Series[], { log = false } = {}): string {
  const shown = series.map((s) => ({ ...s, points: thin(s.points.filter(([, y]) => Number.isFinite(y) && (!log || y > 0))) })).filter((s) => s.points.length);
  if (shown.length === 0) return '';
  const [w, h, left, right, top, bottom] = [560, 250, 60, 16, 36, 40];
  const all = shown.flatMap((s) => s.points);
  let [[x0, x1], [y0, y1]] = [span(all.map((p) => p[0])), span(all.map((p) => p[1]))];
  if (x1 === x0) [x0, x1] = [x0 - 1, x1 + 1];
  // values all (nearly) equal: a band around them
  if (y1 - y0 <= 1e-9 * Math.max(Math.abs(y0), Math.abs(y1))) [y0, y1] = log ? [y0 / 2, y1 * 2] : [y0 - Math.abs(y0 || 1) / 2, y1 + Math.abs(y1 || 1) / 2];
  const f = log ? Math.log10 : (v: number) => v;
  const sx = (x: number) => left + ((x - x0) / (x1 - x0)) * (w - left - right);
  const sy = (y: number) => h - bottom - ((f(y) - f(y0)) / (f(y1) - f(y0))) * (h - top - bottom);
  const xTicks = niceTicks(x0, x1, 6).filter((t) => Number.isInteger(t));
  const yTicks = log ? logTicks(y0, y1) : niceTicks(y0, y1, 5);
  const yStep = log ? 0 : tickStep(y0, y1, 5);
  const grid = [
    ...xTicks.map((t) => `<line class="grid" x1="${sx(t).toFixed(1)}" y1="${top}" x2="${sx(t).toFixed(1)}" y2="${h - bottom}"/>` +
      `<text class="tick x" x="${sx(t).toFixed(1)}" y="${h - bottom + 16}" text-anchor="middle">${t}</text>`),
    ...yTicks.map((t) => `<line class="grid" x1="${left}" y1="${sy(t).toFixed(1)}" x2="${w - right}" y2="${sy(t).toFixed(1)}"/>` +
      `<text class="tick y" x="${left - 6}" y="${(sy(t) + 4).toFixed(1)}" text-anchor="end">${formatValue(t, yStep)}</text>`),
  ];
  const lines = shown.map((s) =>
    `<g class="series" data-series="${esc(s.name)}">` +
    `<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${s.points.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ')}"/>` +
    s.points.map(([x, y]) => `<circle cx="${sx(x).toFixed(1)}" cy="${sy(y).toFixed(1)}" r="3" fill="${s.color}"><title>${esc(s.name)} at step ${x}: ${formatValue(y)}</title></circle>`).join('') +
    '</g>');
  const legend = shown.map((s, i) =>
    `<g class="legend-item" transform="translate(${w - right - 110 * (shown.length - i)},14)"><line x1="0" y1="0" x2="18" y2="0" stroke="${s.color}" stroke-width="3"/>` +
    `<text x="24" y="4">${esc(s.name)}</text></g>`);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="${esc(id)}" data-scale="${log ? 'log' : 'linear'}" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}" role="img" aria-label="${esc(title)}">`,
    `<text class="title" x="${left}" y="18">${esc(title)}${log ? ' (log scale)' : ''}</text>`,
    `<g class="legend">${legend.join('')}</g>`,
    `<g class="axes">${grid.join('')}<line class="axis" x1="${left}" y1="${h - bottom}" x2="${w - right}" y2="${h - bottom}"/>` +
      `<line class="axis" x1="${left}" y1="${top}" x2="${left}" y2="${h - bottom}"/>` +
      `<text class="label" x="${(left + w - right) / 2}" y="${h - 6}" text-anchor="middle">step</text></g>`,
    ...lines,
    '</svg>',
  ].join('\n');
}
