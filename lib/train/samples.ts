// Tokenized training samples and their packing into micro-batch rows.
import { promptTemplate, type PoemRecord, type PromptTemplate } from '../data/template.js';
import type { Batch } from '../engine/trainer.js';
import type { Tokenizer } from '../model/tokenizer.js';

export interface Sample {
  tokens: number[]; // BOS + prompt + " " + output + EOS
  labels: number[]; // -100 on the prompt (unless trainOnPrompt), the token itself elsewhere
}

/** Tokenizes a record as the reference does; labels mask the prompt; cut at cutoffLen. */
export async function tokenizeSample(
  tok: Tokenizer,
  r: PoemRecord,
  { cutoffLen = 256, trainOnPrompt = false, template = promptTemplate('llama2') as PromptTemplate } = {},
): Promise<Sample> {
  const prompt = await tok.tokenize(template.prompt(r), { addSpecial: true });
  const full = [...(await tok.tokenize(template.trainingText(r), { addSpecial: true })), tok.eos].slice(0, cutoffLen);
  const labels = full.map((t, i) => (!trainOnPrompt && i < prompt.length ? -100 : t));
  return { tokens: full, labels };
}

export interface PackOptions {
  rowLen: number; // tokens per row at most (the cutoff length)
  rows: number; // rows per micro-batch
  pad: number; // token id of padding
  packing?: boolean; // false: one sample per row, every row padded to rowLen (the reference)
}

/**
 * Packs samples, in order, into rows of at most rowLen tokens (first fit, no sample split),
 * then groups rows into micro-batches of `rows` rows, padding each batch to its longest row.
 */
export function packBatches(samples: Sample[], { rowLen, rows, pad, packing = true }: PackOptions): Batch[] {
  const packed: Sample[][] = [];
  const used: number[] = [];
  for (const s of samples) {
    if (s.tokens.length > rowLen) throw new Error(`a sample of ${s.tokens.length} tokens exceeds the row length ${rowLen}`);
    const i = packing ? used.findIndex((n) => n + s.tokens.length <= rowLen) : -1;
    if (i >= 0) {
      packed[i]!.push(s);
      used[i]! += s.tokens.length;
    } else {
      packed.push([s]);
      used.push(s.tokens.length);
    }
  }
  const batches: Batch[] = [];
  for (let i = 0; i < packed.length; i += rows) {
    const group = packed.slice(i, i + rows);
    const len = packing ? Math.max(...used.slice(i, i + rows)) : rowLen;
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
