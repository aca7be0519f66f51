// Tokenized training samples and their packing into micro-batch rows.
import type { PoemRecord } from '../data/template.js';
import { llama2Prompt, llama2TrainingText } from '../data/template.js';
import type { Batch } from '../engine/trainer.js';
import type { Runner } from '../generate/runner.js';

export interface Sample {
  tokens: number[]; // BOS + prompt + " " + output + EOS
  labels: number[]; // -100 on the prompt (unless trainOnPrompt), the token itself elsewhere
}

/** Tokenizes a record as the reference does; labels mask the prompt; cut at cutoffLen. */
export async function tokenizeSample(
  runner: Runner,
  r: PoemRecord,
  { cutoffLen = 256, trainOnPrompt = false } = {},
): Promise<Sample> {
  const prompt = await runner.tokenize(llama2Prompt(r), { addSpecial: true });
  const full = [...(await runner.tokenize(llama2TrainingText(r), { addSpecial: true })), runner.eos].slice(0, cutoffLen);
  const labels = full.map((t, i) => (!trainOnPrompt && i < prompt.length ? -100 : t));
  return { tokens: full, labels };
}

/**
 * Packs samples, in order, into rows of at most rowLen tokens (first fit, no sample split),
 * then groups rows into batches of `rows` rows; the last row of a batch is padded with `pad`.
 */
export function packBatches(samples: Sample[], rowLen: number, rows: number, pad: number): Batch[] {
  const packed: Sample[][] = [];
  for (const s of samples) {
    if (s.tokens.length > rowLen) throw new Error(`a sample of ${s.tokens.length} tokens exceeds the row length ${rowLen}`);
    const row = packed.find((r) => r.reduce((n, x) => n + x.tokens.length, 0) + s.tokens.length <= rowLen);
    if (row) row.push(s);
    else packed.push([s]);
  }
  const batches: Batch[] = [];
  for (let i = 0; i < packed.length; i += rows) {
    const group = packed.slice(i, i + rows);
    const len = Math.max(...group.map((r) => r.reduce((n, x) => n + x.tokens.length, 0)));
    const tokens = new Int32Array(group.length * len).fill(pad);
    const labels = new Int32Array(group.length * len).fill(-100);
    const segments = new Int32Array(group.length * len).fill(-1);
    group.forEach((row, r) => {
      let at = r * len;
      row.forEach((s, k) => {
        tokens.set(s.tokens, at);
        labels.set(s.labels, at);
        segments.fill(k, at, at + s.tokens.length);
        at += s.tokens.length;
      });
    });
    batches.push({ rows: group.length, tokens, labels, segments });
  }
  return batches;
}
