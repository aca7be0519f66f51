// create-model: random-initialized llama-family GGUFs of named shapes, with a real vocabulary
// from the vendored llama.cpp (for tests, benchmarks and the demo; no download).
import fs from 'node:fs';
import path from 'node:path';
import { addon, type NativeModelSpec } from '../native/binding.js';
import { checkWritable } from '../atomic-write.js';
import { resolveOptions, type OptionTable } from '../options.js';
import { packageRoot } from '../package-root.js';

const pick = (o: CreateModelOptions) => ({ shape: o.shape, type: o.type, seed: o.seed, vocab: o.vocab });

export interface ModelShape {
  arch: 'llama' | 'mistral' | 'qwen2';
  nLayer: number;
  nEmbd: number;
  nFf: number;
  nHead: number;
  nHeadKv: number;
  vocab: 'llama-spm' | 'llama-bpe' | 'qwen2';
  outputScale?: number; // sharper output weights (larger logits); default 1
}

/**
 * Named shapes: tiny for tests; small for the demo and the learning test (enough width for a
 * rank-64 LoRA to memorize a few dozen poems in 200 CPU steps, and sharp output weights so its
 * logits can be confident); then 1B-, Llama-2-7B- and Llama-3-8B-like.
 */
export const SHAPES: Record<string, ModelShape> = {
  tiny: { arch: 'llama', nLayer: 2, nEmbd: 64, nFf: 128, nHead: 4, nHeadKv: 2, vocab: 'llama-spm' },
  small: { arch: 'llama', nLayer: 4, nEmbd: 128, nFf: 256, nHead: 4, nHeadKv: 2, vocab: 'llama-spm', outputScale: 8 },
  '1b': { arch: 'llama', nLayer: 22, nEmbd: 2048, nFf: 5632, nHead: 32, nHeadKv: 4, vocab: 'llama-spm' },
  '7b': { arch: 'llama', nLayer: 32, nEmbd: 4096, nFf: 11008, nHead: 32, nHeadKv: 32, vocab: 'llama-spm' },
  '8b-gqa': { arch: 'llama', nLayer: 32, nEmbd: 4096, nFf: 14336, nHead: 32, nHeadKv: 8, vocab: 'llama-bpe' },
};

export const WEIGHT_TYPES = ['f32', 'f16', 'bf16', 'q8_0', 'q4_0', 'q4_1', 'q4_k', 'q5_k', 'q6_k'] as const;

/** The options of `create-model`. */
export const CREATE_MODEL_OPTIONS = {
  shape: { type: 'string', choices: Object.keys(SHAPES), default: 'tiny', describe: 'Named shape' },
  type: { type: 'string', choices: WEIGHT_TYPES, default: 'f32', describe: 'Weight type of the matrices' },
  vocab: { type: 'string', choices: ['llama-spm', 'llama-bpe', 'qwen2'], describe: "Vocabulary (default: the shape's)" },
  out: { type: 'string', nonEmpty: true, required: true, describe: 'Output .gguf' },
  seed: { type: 'int', min: 0, max: 0xffffffff, default: 0, describe: 'Random init seed' },
} as const satisfies OptionTable;

export interface CreateModelOptions extends Partial<ModelShape> {
  shape?: string; // a key of SHAPES; the other fields override it
  type?: string; // weight type of the matrices: f32 f16 bf16 q8_0 q4_0 q4_1 q4_k q5_k q6_k
  seed?: number;
  chatTemplate?: string; // written as tokenizer.chat_template
}


/** A vocabulary GGUF: shipped in vocab/ (a packed tang-lora), else the vendored llama.cpp tree. */
export function vocabPath(vocab: string): string {
  const name = `ggml-vocab-${vocab}.gguf`;
  const file = [path.join(packageRoot, 'vocab', name), path.join(packageRoot, 'native', 'vendor', 'llama.cpp', 'models', name)].find((f) => fs.existsSync(f));
  if (!file) throw new Error(`vocabulary '${vocab}' not found in ${path.join(packageRoot, 'vocab')} or the vendored llama.cpp (run npm install)`);
  return file;
}

/** Writes a random-initialized model to `out` (atomically) and returns its size and vocabulary. */
export async function createModel(out: string, options: CreateModelOptions = {}) {
  const { shape: name, type, seed, vocab } = resolveOptions(CREATE_MODEL_OPTIONS, { out, ...pick(options) });
  checkWritable(out, 'model file');
  const base = SHAPES[name!]!;
  const shape = { ...base, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) } as ModelShape;
  const spec: NativeModelSpec = {
    arch: shape.arch,
    nLayer: shape.nLayer,
    nEmbd: shape.nEmbd,
    nFf: shape.nFf,
    nHead: shape.nHead,
    nHeadKv: shape.nHeadKv,
    type: type!,
    seed: seed!,
    outputScale: shape.outputScale ?? 1,
    chatTemplate: options.chatTemplate,
  };
  return addon().createModel(spec, out, vocabPath(vocab ?? shape.vocab));
}
