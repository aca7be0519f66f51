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
  nCtx?: number; // per sequence (default 1024)
  parallel?: number; // prompts decoded together as sequences of one context (default 8; 1 = one by one)
  onResult?: (r: PoemResult, index: number) => void;
}

/**
 * Generates a poem for every record in one libllama context: `parallel` prompts at a time as
 * parallel sequences (seconds = the batch's time / its prompts), or one after another.
 */
export async function generatePoems(records: PoemRecord[], o: GenerateOptions): Promise<PoemResult[]> {
  const parallel = Math.max(1, Math.min(o.parallel ?? 8, records.length));
  const runner = await openRunner(o.model, o.adapters ?? [], { device: o.device, nCtx: o.nCtx ?? 1024, nParallel: parallel });
  try {
    const prompts: Int32Array[] = [];
    for (const r of records) prompts.push(await runner.tokenize(llama2Prompt(r), { addSpecial: true }));
    const results: PoemResult[] = [];
    for (let i = 0; i < records.length; i += parallel) {
      const t0 = performance.now();
      const group = prompts.slice(i, i + parallel);
      const outs = parallel === 1 ? [await runner.generate(group[0]!, o)] : await runner.generateBatch(group, o);
      const seconds = (performance.now() - t0) / 1000 / group.length;
      for (const [k, out] of outs.entries()) {
        const result = { input: records[i + k]!.input, output: (await runner.detokenize(out)).trim(), tokens: out.length, seconds };
        results.push(result);
        o.onResult?.(result, i + k);
      }
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
