// Poems for prompts: the reference template around each record, generation through libllama
// with the reference's sampling defaults, and the results files the reference writes.
import fs from 'node:fs';
import path from 'node:path';
import { promptTemplate, type PoemRecord, type TemplateName } from '../data/template.js';
import { openRunner, type AdapterRef, type SamplingOptions } from './runner.js';
import { checkWritable, writeFileAtomic } from '../atomic-write.js';
import { defaults, pickOptions } from '../options.js';
import { GENERATION_OPTIONS } from './options.js';

export interface PoemResult {
  input: string;
  output: string;
  tokens: number;
  seconds: number;
}

export interface GenerateOptions extends SamplingOptions {
  model: string;
  adapters?: AdapterRef[];
  device?: string;
  nCtx?: number; // per sequence (default 1024)
  parallel?: number; // prompts decoded together as sequences of one context (default 8; 1 = one by one)
  template?: TemplateName; // default llama2, the reference's
  signal?: AbortSignal;
  onResult?: (r: PoemResult, index: number) => void; // as each prompt finishes
  onText?: (text: string, index: number) => void; // a prompt's response so far, as tokens arrive
}

/**
 * Generates a poem for every record in one libllama context, `parallel` prompts at a time as
 * parallel sequences (a finished sequence's slot takes the next prompt). A result's seconds is
 * the job's time since the previous prompt finished, so they add up to the job's time.
 */
export async function generatePoems(records: PoemRecord[], options: GenerateOptions): Promise<PoemResult[]> {
  const o = { ...options, ...defaults(GENERATION_OPTIONS), ...pickOptions(GENERATION_OPTIONS, options) } as GenerateOptions;
  const parallel = Math.max(1, Math.min(o.parallel!, records.length));
  const runner = await openRunner(o.model, o.adapters ?? [], { device: o.device, nCtx: o.nCtx ?? 1024, nParallel: parallel });
  try {
    const template = promptTemplate(o.template!, runner);
    const prompts: Int32Array[] = [];
    for (const r of records) prompts.push(await runner.tokenize(template.prompt(r), { addSpecial: true }));
    const results: PoemResult[] = new Array(records.length);
    let last = performance.now();
    const onDone = (i: number, out: Int32Array) => {
      const now = performance.now();
      const text = runner.detokenizeNow(out);
      results[i] = { input: records[i]!.input, output: visible(text, o.stop).trim(), tokens: out.length, seconds: (now - last) / 1000 };
      last = now;
      o.onResult?.(results[i]!, i);
    };
    const partial = records.map(() => [] as number[]);
    const onToken = (i: number, t: number) => {
      partial[i]!.push(t);
      o.onText?.(visible(runner.detokenizeNow(partial[i]!), o.stop), i);
    };
    await runner.generateBatch(prompts, o, { onDone, onToken: o.onText && onToken, signal: o.signal });
    return results;
  } finally {
    await runner.dispose();
  }
}

/** The response as shown: before the first stop string, no leading space, no half character. */
export function visible(text: string, stop: string[] = []): string {
  const at = Math.min(...stop.map((s) => text.indexOf(s)).filter((i) => i >= 0), text.length);
  return text.slice(0, at).trimStart().replace(/\uFFFD+$/, '');
}

/** The reference's results file and results.jsonl beside it. */
function resultsFiles(file: string) {
  return { text: file, jsonl: path.join(path.dirname(file), 'results.jsonl') };
}

/** Throws unless both results files can be written (checked before generating). */
export function checkResultsFile(file: string): void {
  for (const f of Object.values(resultsFiles(file))) checkWritable(f, 'results file');
}

/** The reference's results file (input, then response, per record) and results.jsonl beside it. */
export function writeResults(file: string, results: PoemResult[]): string {
  const { text, jsonl } = resultsFiles(file);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  writeFileAtomic(text, results.map((r) => `${r.input}\n${r.output}\n`).join('\n'));
  writeFileAtomic(jsonl, results.map((r) => JSON.stringify(r)).join('\n') + '\n');
  return jsonl;
}
