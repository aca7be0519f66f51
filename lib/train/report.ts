// report.html: the run's loss, eval loss and learning-rate curves as inline SVG, and its settings.
import type { MetricsLine } from './train.js';
import { writeFileAtomic } from '../atomic-write.js';

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** A line chart of (x, y) series as an SVG string, 640 x 240, axes labelled with their ranges. */
export function lineChart(title: string, series: Array<{ name: string; color: string; points: Array<[number, number]> }>): string {
  const all = series.flatMap((s) => s.points);
  if (all.length === 0) return '';
  const [w, h, pad] = [640, 240, 40];
  const xs = all.map((p) => p[0]);
  const ys = all.map((p) => p[1]);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const sx = (x: number) => pad + ((x - x0) / (x1 - x0 || 1)) * (w - 2 * pad);
  const sy = (y: number) => h - pad - ((y - y0) / (y1 - y0 || 1)) * (h - 2 * pad);
  const lines = series
    .filter((s) => s.points.length)
    .map((s) => `<polyline class="${esc(s.name)}" fill="none" stroke="${s.color}" stroke-width="2" points="${s.points.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ')}"/>`);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" role="img" aria-label="${esc(title)}">`,
    `<text x="${pad}" y="20" font-size="14">${esc(title)} (${series.map((s) => esc(s.name)).join(', ')})</text>`,
    `<line x1="${pad}" y1="${h - pad}" x2="${w - pad}" y2="${h - pad}" stroke="#888"/><line x1="${pad}" y1="${pad}" x2="${pad}" y2="${h - pad}" stroke="#888"/>`,
    `<text x="${pad}" y="${h - 10}" font-size="11">step ${x0}</text><text x="${w - pad}" y="${h - 10}" font-size="11" text-anchor="end">${x1}</text>`,
    `<text x="4" y="${pad}" font-size="11">${y1.toPrecision(4)}</text><text x="4" y="${h - pad}" font-size="11">${y0.toPrecision(4)}</text>`,
    ...lines,
    '</svg>',
  ].join('\n');
}

export function writeReport(file: string, metrics: MetricsLine[], settings: Record<string, unknown>): void {
  const loss = lineChart('loss', [
    { name: 'loss', color: '#1f77b4', points: metrics.map((m) => [m.step, m.loss]) },
    { name: 'eval_loss', color: '#d62728', points: metrics.filter((m) => m.eval_loss !== undefined).map((m) => [m.step, m.eval_loss!]) },
  ]);
  const lr = lineChart('learning rate', [{ name: 'lr', color: '#2ca02c', points: metrics.map((m) => [m.step, m.lr]) }]);
  const rows = Object.entries(settings)
    .filter(([, v]) => v !== undefined && typeof v !== 'function' && typeof v !== 'object' || Array.isArray(v))
    .map(([k, v]) => `<tr><td>${esc(k)}</td><td>${esc(Array.isArray(v) ? v.join(' ') : String(v))}</td></tr>`);
  const html = `<!doctype html>
<html><head><meta charset="utf-8"><title>tang-lora training report</title>
<style>body{font-family:sans-serif;margin:2em}td{padding:2px 12px;border-bottom:1px solid #ddd}</style></head>
<body><h1>tang-lora training report</h1>
${loss}
${lr}
<h2>Settings</h2><table>${rows.join('\n')}</table>
</body></html>
`;
  writeFileAtomic(file, html);
}
