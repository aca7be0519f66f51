// `eval`: scores generated poems. Each prompt's first line is looked up in the Tang corpus;
// where the poem is known, the response is scored against its true continuation. Every
// response's form is checked. A baseline run (e.g. the base model before fine-tuning) is
// scored the same way for a side-by-side comparison.
import fs from 'node:fs';
import { FirstLineIndex, loadTangCorpus, type TangPoem } from '../data/corpus.js';
import { charAccuracy, checkForm, chrF, exactLines, type FormCheck } from './score.js';
import { checkWritable, writeFileAtomic } from '../atomic-write.js';
import { parseJsonItems } from '../data/records.js';

export interface ScoredPoem {
  input: string;
  output: string;
  known: boolean; // the first line was found in the corpus
  author?: string;
  title?: string;
  truth?: string; // the true continuation
  charAccuracy?: number;
  exactLines?: { matched: number; total: number };
  chrF?: number;
  form: FormCheck;
}

export interface EvalSummary {
  prompts: number;
  known: number;
  charAccuracy: number | null; // means over the known prompts
  exactLines: { matched: number; total: number };
  chrF: number | null;
  wellFormed: number; // responses that pass every form check
}

export interface EvalRun {
  results: string | null;
  summary: EvalSummary;
  poems: ScoredPoem[];
}

/** Reads results.jsonl (as `generate` writes it) or a JSON array of {input, output}. */
export function readResults(file: string): { input: string; output: string }[] {
  if (!fs.existsSync(file)) throw new Error(`results file '${file}' does not exist`);
  return parseJsonItems(fs.readFileSync(file, 'utf8'), file, 'results').map((r, i) => {
    const o = r as Record<string, unknown>;
    if (typeof o?.input !== 'string' || typeof o?.output !== 'string') {
      throw new Error(`results file '${file}': result ${i} needs string fields 'input' and 'output'`);
    }
    return { input: o.input, output: o.output };
  });
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);

/** Scores responses; `corpus` defaults to the chinese-poetry Tang corpus. */
export function scorePoems(results: { input: string; output: string }[], corpus: TangPoem[] = loadTangCorpus()): Omit<EvalRun, 'results'> {
  const index = new FirstLineIndex(corpus);
  const poems: ScoredPoem[] = results.map(({ input, output }) => {
    const form = checkForm(input, output);
    const poem = index.find(input);
    if (!poem) return { input, output, known: false, form };
    const truth = poem.paragraphs.slice(1).join('');
    return {
      input, output, known: true, author: poem.author, title: poem.title, truth,
      charAccuracy: charAccuracy(output, truth), exactLines: exactLines(output, truth), chrF: chrF(output, truth), form,
    };
  });
  const known = poems.filter((p) => p.known);
  const summary: EvalSummary = {
    prompts: poems.length,
    known: known.length,
    charAccuracy: mean(known.map((p) => p.charAccuracy!)),
    exactLines: known.reduce((s, p) => ({ matched: s.matched + p.exactLines!.matched, total: s.total + p.exactLines!.total }), { matched: 0, total: 0 }),
    chrF: mean(known.map((p) => p.chrF!)),
    wellFormed: poems.filter((p) => p.form.ok).length,
  };
  return { summary, poems };
}

export interface EvaluateOptions {
  results: string; // results.jsonl
  baseline?: string; // another run's results.jsonl, scored beside it
  out?: string; // eval.json
  corpus?: TangPoem[];
}

/** Throws unless eval.json can be written at `out` (checked before generating). */
export function checkEvalFile(out: string): void {
  checkWritable(out, 'eval file');
}

/** Scores a results file (and a baseline), writes eval.json atomically when `out` is given. */
export function evaluate(o: EvaluateOptions): { run: EvalRun; baseline?: EvalRun } {
  const corpus = o.corpus ?? loadTangCorpus();
  const score = (file: string): EvalRun => ({ results: file, ...scorePoems(readResults(file), corpus) });
  const report = { run: score(o.results), ...(o.baseline ? { baseline: score(o.baseline) } : {}) };
  if (o.out) {
    writeFileAtomic(o.out, JSON.stringify({ summary: report.run.summary, ...report }, null, 2) + '\n');
  }
  return report;
}
