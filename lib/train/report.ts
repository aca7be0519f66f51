// report.html: how a run went, in one self-contained file (inline SVG and CSS, no script, no
// network). train() rewrites it atomically at every log line, and while the run goes on the page
// reloads itself, so a browser can keep it open. A summary of the run, the curves (loss and eval
// loss with a log-scale switch, learning rate, gradient norm, tokens/s), the test prompts' poems
// with their scores when the run had test prompts, and the settings by group.
import { esc, lineChart } from './chart.js';
import type { MetricsLine } from './train.js';
import { TRAIN_OPTIONS } from './options.js';
import { byGroupOrder, optionGroups } from '../options.js';
import { writeFileAtomic } from '../atomic-write.js';
import type { EvalSummary, ScoredPoem } from '../eval/evaluate.js';

export interface RunSummary {
  state: 'running' | 'testing prompts' | 'finished' | 'interrupted' | 'failed';
  model: string;
  modelType: string; // architecture and tensor types: 'llama; q4_K x224, f32 x65'
  data: string;
  records: number;
  device: string;
  started: Date;
  ended?: Date;
  steps: number;
  totalSteps: number;
  tokensPerSec: number; // over the steps this run took
  memoryBytes: { weights: number; lora: number; compute: number }; // the engine's buffers, compute at its peak
  memoryPlan: string; // describePlan's line
  padding: number; // share of the tokens
  adapter?: string; // once saved
}

/** The test prompts' poems, scored where the corpus knows the poem; `base` from the base model alone. */
export interface TestResults {
  adapter: ScoredPoem[] | { input: string; output: string }[];
  base?: ScoredPoem[] | { input: string; output: string }[];
  summary?: { adapter: EvalSummary; base?: EvalSummary };
  note?: string; // why there are no scores
  settings: Record<string, unknown>; // the test options, shown as the settings' Test group
}

const gib = (b: number) => `${(b / 2 ** 30).toFixed(2)} GiB`;
const num = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(4));
const duration = (s: number) => (s < 90 ? `${s.toFixed(1)} s` : s < 5400 ? `${(s / 60).toFixed(1)} min` : `${(s / 3600).toFixed(2)} h`);
const row = (field: string, label: string, value: string) => `<tr data-field="${field}"><th>${esc(label)}</th><td>${esc(value)}</td></tr>`;

function summaryTable(s: RunSummary, metrics: MetricsLine[]): string {
  const losses = metrics.map((m) => m.loss).filter(Number.isFinite);
  const evals = metrics.flatMap((m) => (m.eval_loss !== undefined ? [m.eval_loss] : []));
  const end = s.ended ?? new Date();
  const mem = s.memoryBytes;
  return `<table class="summary">
${row('state', 'state', s.state)}
${row('model', 'model', `${s.model} (${s.modelType})`)}
${row('data', 'data', `${s.data} (${s.records} records)`)}
${row('device', 'device', s.device)}
${row('time', 'time', `${s.started.toISOString()} to ${s.ended ? s.ended.toISOString() : 'now'} (${duration((end.getTime() - s.started.getTime()) / 1000)})`)}
${row('steps', 'steps', `${s.steps} of ${s.totalSteps}`)}
${row('throughput', 'tokens/s', String(s.tokensPerSec))}
${row('plan', 'memory plan', s.memoryPlan.replace(/^memory plan: /, ''))}
${row('memory', 'peak engine memory', `${gib(mem.weights + mem.lora + mem.compute)} (weights ${gib(mem.weights)}, LoRA and AdamW ${gib(mem.lora)}, compute ${gib(mem.compute)})`)}
${row('loss', 'train loss (final / best)', `${num(losses.at(-1))} / ${num(losses.length ? Math.min(...losses) : undefined)}`)}
${row('eval-loss', 'eval loss (final / best)', evals.length ? `${num(evals.at(-1))} / ${num(Math.min(...evals))}` : 'no validation set')}
${row('padding', 'padding', `${(100 * s.padding).toFixed(1)}% of the tokens`)}
${row('adapter', 'adapter', s.adapter ?? 'not saved yet')}
</table>`;
}

function charts(metrics: MetricsLine[]): string {
  const pts = (f: (m: MetricsLine) => number | undefined) => metrics.flatMap((m) => (f(m) === undefined ? [] : [[m.step, f(m)!] as [number, number]]));
  const loss = [
    { name: 'loss', color: '#1f77b4', points: pts((m) => m.loss) },
    { name: 'eval_loss', color: '#d62728', points: pts((m) => m.eval_loss) },
  ];
  return `<div class="loss-charts"><input type="checkbox" id="log-scale"><label for="log-scale">log scale</label>
<div class="linear">${lineChart('chart-loss', 'loss', loss)}</div>
<div class="log">${lineChart('chart-loss-log', 'loss', loss, { log: true })}</div></div>
${lineChart('chart-lr', 'learning rate', [{ name: 'lr', color: '#2ca02c', points: pts((m) => m.lr) }])}
${lineChart('chart-grad-norm', 'gradient norm', [{ name: 'grad_norm', color: '#9467bd', points: pts((m) => m.grad_norm) }])}
${lineChart('chart-tokens', 'tokens/s', [{ name: 'tokens_per_sec', color: '#ff7f0e', points: pts((m) => m.tokens_per_sec) }])}`;
}

function testTable(t: TestResults): string {
  const scored = (p: object) => ('known' in p ? (p as ScoredPoem) : undefined);
  const score = (p: object | undefined) => {
    const s = p && scored(p);
    return s?.known ? `chrF ${s.chrF!.toFixed(1)}, chars ${(100 * s.charAccuracy!).toFixed(0)}%` : s ? 'not in the corpus' : '-';
  };
  const head = ['prompt', 'poem (adapter)', 'scores', ...(t.base ? ['poem (base)', 'scores (base)'] : []), 'true continuation'];
  const rows = t.adapter.map((p, i) => {
    const b = t.base?.[i];
    const cells = [p.input, p.output, score(p), ...(b ? [b.output, score(b)] : []), scored(p)?.truth ?? ''];
    return `<tr>${cells.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`;
  });
  const sum = (s: EvalSummary | undefined, who: string) =>
    s ? `<p class="scores" data-run="${who}">${who}: ${s.known} of ${s.prompts} poems in the corpus, chrF ${s.chrF?.toFixed(1) ?? '-'}, ` +
      `characters ${s.charAccuracy === null ? '-' : `${(100 * s.charAccuracy).toFixed(1)}%`}, exact lines ${s.exactLines.matched} of ${s.exactLines.total}, well formed ${s.wellFormed}</p>` : '';
  return `<h2>Test prompts</h2>
${t.note ? `<p class="note">${esc(t.note)}</p>` : ''}${sum(t.summary?.adapter, 'adapter')}${sum(t.summary?.base, 'base')}
<table class="results"><thead><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody>
${rows.join('\n')}
</tbody></table>`;
}

/** The settings by the option table's groups (the test options after them, once there are test prompts). */
function settingsTables(settings: Record<string, unknown>, tests?: Record<string, unknown>): string {
  const value = (v: unknown) => (v === undefined ? '-' : Array.isArray(v) ? v.join(' ') : String(v));
  const groups: [string, [string, unknown][]][] = optionGroups(TRAIN_OPTIONS).map(([g, keys]) => [g, keys.map((k) => [k, settings[k]])]);
  if (tests) groups.push(['Test', Object.entries(tests)]);
  return groups
    .sort(byGroupOrder)
    .map(([g, rows]) => `<h3>${g}</h3><table class="settings" data-group="${g}">${rows.map(([k, v]) => row(k, k, value(v))).join('\n')}</table>`)
    .join('\n');
}

const STYLE = `body{font-family:system-ui,sans-serif;margin:2em;max-width:1260px;color:#222}
table{border-collapse:collapse;margin-bottom:1em}th,td{padding:3px 12px;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}
.summary th{font-weight:600;white-space:nowrap}.chart{margin:0 16px 16px 0}.chart .grid{stroke:#e6e6e6}.chart .axis{stroke:#666}
.chart text{font-size:11px;fill:#444}.chart .title{font-size:14px;fill:#222}.chart circle{opacity:.75}.chart circle:hover{opacity:1;r:5px}
.loss-charts .log{display:none}#log-scale:checked~.linear{display:none}#log-scale:checked~.log{display:block}
.charts{display:flex;flex-wrap:wrap}.results td{max-width:320px}.settings-groups{columns:2}.settings-groups h3{margin:.2em 0}`;

/** Writes report.html atomically. */
export function writeReport(file: string, summary: RunSummary, metrics: MetricsLine[], settings: Record<string, unknown>, tests?: TestResults): void {
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tang-lora run: ${esc(summary.model)}</title>
${summary.state === 'running' || summary.state === 'testing prompts' ? '<meta http-equiv="refresh" content="15">' : ''}<style>${STYLE}</style></head>
<body><h1>tang-lora training report</h1>
${summaryTable(summary, metrics)}
<h2>Curves</h2><div class="charts">${metrics.length ? charts(metrics) : '<p>No step logged yet.</p>'}</div>
${tests ? testTable(tests) : ''}
<h2>Settings</h2><div class="settings-groups">${settingsTables(settings, tests?.settings)}</div>
</body></html>
`;
  writeFileAtomic(file, html);
}
