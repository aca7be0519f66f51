// `tang-lora eval`: scores results against the Tang corpus (or generates them first) and
// prints a table; --baseline puts another run beside it.
import path from 'node:path';
import type { CommandModule } from 'yargs';
import { checkEvalFile, checkResultsFile, evaluate, generatePoems, loadRecords, writeResults, type EvalRun, type EvalSummary } from '../index.js';
import { generationFlags, generationOptions, interruptSignal } from './generation-flags.js';
import { UsageError } from './options.js';

const pct = (x: number | null | undefined) => (x === null || x === undefined ? '-' : `${(100 * x).toFixed(1)}%`);
const num = (x: number | null | undefined) => (x === null || x === undefined ? '-' : x.toFixed(1));

function summaryLines(name: string, s: EvalSummary): string {
  return [
    name.padEnd(10),
    `${s.known}/${s.prompts} known`.padEnd(14),
    `chars ${pct(s.charAccuracy)}`.padEnd(14),
    `lines ${s.exactLines.matched}/${s.exactLines.total}`.padEnd(14),
    `chrF ${num(s.chrF)}`.padEnd(11),
    `well-formed ${s.wellFormed}/${s.prompts}`,
  ].join(' ');
}

function printRun(run: EvalRun, baseline?: EvalRun) {
  console.log('  # known  chars  lines  chrF  form  first line');
  run.poems.forEach((p, i) => {
    const b = baseline?.poems[i];
    const cell = (x: string, y?: string) => (b ? `${x}|${y}` : x);
    console.log(
      [
        String(i + 1).padStart(3),
        (p.known ? 'yes' : 'no').padEnd(5),
        cell(pct(p.charAccuracy), pct(b?.charAccuracy)).padStart(6),
        cell(p.exactLines ? `${p.exactLines.matched}/${p.exactLines.total}` : '-', b?.exactLines ? `${b.exactLines.matched}/${b.exactLines.total}` : '-').padStart(6),
        cell(num(p.chrF), num(b?.chrF)).padStart(5),
        cell(p.form.ok ? 'ok' : 'bad', b ? (b.form.ok ? 'ok' : 'bad') : undefined).padEnd(5),
        p.input,
      ].join(' '),
    );
  });
  console.log(summaryLines('this run', run.summary));
  if (baseline) console.log(summaryLines('baseline', baseline.summary));
}

export const evalCommand: CommandModule = {
  command: 'eval',
  describe: 'Score generated poems against the Tang corpus (chinese-poetry) and check their form',
  builder: (y) =>
    generationFlags(
      y
        .option('results', { type: 'string', describe: 'results.jsonl from generate' })
        .option('model', { type: 'string', describe: 'Generate first: base model (with --data, --lora)' })
        .option('data', { type: 'string', describe: 'Generate first: test records' })
        .option('baseline', { type: 'string', describe: "Another run's results.jsonl, shown beside" })
        .option('out', { type: 'string', default: 'eval.json' }),
    ),
  handler: async (a) => {
    if (!a.results === !(a.model || a.data)) throw new UsageError('give --results, or --model and --data to generate first');
    if (!a.results && !(a.model && a.data)) throw new UsageError('generating first needs both --model and --data');
    let results = a.results as string | undefined;
    const generated = path.join(path.dirname(a.out as string), 'results.txt');
    checkEvalFile(a.out as string);
    if (!results) checkResultsFile(generated);
    if (!results) {
      const records = loadRecords(a.data as string, { requireOutput: false });
      const poems = await generatePoems(records, {
        ...generationOptions(a, interruptSignal()),
        onResult: (r, i) => console.error(`[${i + 1}/${records.length}] ${r.input} (${r.tokens} tokens)`),
      });
      results = writeResults(generated, poems);
    }
    const report = evaluate({ results, baseline: a.baseline as string | undefined, out: a.out as string });
    printRun(report.run, report.baseline);
    console.log(`tang-lora: scores -> ${a.out}`);
  },
};
