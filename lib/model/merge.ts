// merge: a GGUF base with LoRA adapters folded into its weights (native/model/merge.*): one
// standalone model that llama.cpp, llama-server and Ollama run without the adapter. --type
// quantizes the merged model through the quantizer (--ollama's Modelfile: generate/modelfile.ts).
import fs from 'node:fs';
import path from 'node:path';
import { checkNotInput, checkWritable, tempName } from '../atomic-write.js';
import { checkRegularFile } from '../data/records.js';
import { addon } from '../native/binding.js';
import { checkOption, type OptionTable } from '../options.js';
import { QUANT_TYPES } from './quantize.js';

export const MERGE_OPTIONS = {
  model: { type: 'string', nonEmpty: true, required: true, describe: 'The GGUF base model' },
  lora: { type: 'strings', default: [], describe: 'adapter.gguf[:scale], repeatable (at least one)' },
  out: { type: 'string', nonEmpty: true, required: true, describe: 'The merged GGUF to write' },
  type: { type: 'string', choices: ['keep', ...QUANT_TYPES], default: 'keep', describe: "Weight type of the merged model (keep: the base's own)" },
  ollama: { type: 'boolean', default: false, describe: 'Also write a Modelfile beside it for `ollama create`' },
} as const satisfies OptionTable;

/** Writes `out`: `model` with `adapters` merged, in the base's types or `type`. */
export async function mergeAdapter(model: string, adapters: { path: string; scale?: number }[], out: string, { type = 'keep' } = {}): Promise<void> {
  checkOption('type', MERGE_OPTIONS.type, type);
  checkRegularFile(model, 'model file');
  if (adapters.length === 0) throw new Error('merge needs at least one --lora adapter');
  for (const a of adapters) checkRegularFile(a.path, 'adapter file');
  checkWritable(out, 'output model');
  checkNotInput(out, [model, ...adapters.map((a) => a.path)]);
  const refs = adapters.map((a) => ({ path: a.path, scale: a.scale ?? 1 }));
  fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
  if (type === 'keep') await addon().mergeAdapters(model, refs, out);
  else {
    const merged = tempName(`${out}.merged`);
    try {
      await addon().mergeAdapters(model, refs, merged);
      await addon().quantize(merged, out, type);
    } finally {
      fs.rmSync(merged, { force: true });
    }
  }
}
