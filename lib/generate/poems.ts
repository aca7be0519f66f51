// Poems for prompts: the reference template around each record, generation through libllama
// with the reference's sampling defaults, and the results files the reference writes.
import fs from 'node:fs';
import path from 'node:path';
import { llama2Prompt, type PoemRecord } from '../data/template.js';
import { openRunner, type AdapterRef, type SamplingOptions } from './runner.js';

export const TANG_INSTRUCTION = '以下是一首唐詩的第一句話,請用你的知識判斷並完成整首詩。';

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
  nCtx?: number;
  onResult?: (r: PoemResult, index: number) => void;
}

/** Generates a poem for every record, one after another, in one libllama context. */
export async function generatePoems(records: PoemRecord[], o: GenerateOptions): Promise<PoemResult[]> {
  const runner = await openRunner(o.model, o.adapters ?? [], { device: o.device, nCtx: o.nCtx ?? 1024 });
  try {
    const results: PoemResult[] = [];
    for (const [i, r] of records.entries()) {
      const t0 = performance.now();
      const prompt = await runner.tokenize(llama2Prompt(r), { addSpecial: true });
      const out = await runner.generate(prompt, o);
      const result = { input: r.input, output: (await runner.detokenize(out)).trim(), tokens: out.length, seconds: (performance.now() - t0) / 1000 };
      results.push(result);
      o.onResult?.(result, i);
    }
    return results;
  } finally {
    await runner.dispose();
  }
}

/** The reference's results file (input, then response, per record) and results.jsonl beside it. */
export function writeResults(file: string, results: PoemResult[]): string {
  const text = results.map((r) => `${r.input}\n${r.output}\n`).join('\n');
  const jsonl = path.join(path.dirname(file), 'results.jsonl');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  for (const [f, body] of [[file, text], [jsonl, results.map((r) => JSON.stringify(r)).join('\n') + '\n']] as const) {
    fs.writeFileSync(f + '.tmp', body);
    fs.renameSync(f + '.tmp', f);
  }
  return jsonl;
}
