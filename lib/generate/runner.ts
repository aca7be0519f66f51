// libllama inference from TypeScript: a GGUF base with LoRA adapters (each with a scale),
// tokenizer, every position's logits, and generation with Hugging Face sampling semantics
// (the no_repeat_ngram_size ban is our own libllama sampler).
import { addon, type NativeRunner, type SamplingOptions } from '../native/binding.js';

export type { SamplingOptions } from '../native/binding.js';
import { Serial } from '../native/serial.js';

export interface AdapterRef {
  path: string;
  scale?: number;
}

export interface RunnerOptions {
  device?: string; // "cpu" | "cuda" | "auto"
  nCtx?: number; // context size in tokens per sequence (default 1024)
  nParallel?: number; // sequences generateBatch decodes together (default 1)
  threads?: number;
  vocabOnly?: boolean; // tokenizer only (no weights are loaded; logits and generate refuse)
}

export class Runner implements AsyncDisposable {
  #serial: Serial<NativeRunner>;
  readonly nVocab: number;
  readonly eos: number;

  constructor(native: NativeRunner) {
    this.#serial = new Serial(native, 'Runner');
    ({ nVocab: this.nVocab, eos: this.eos } = native.info());
  }

  tokenize(text: string, { addSpecial = false } = {}): Promise<Int32Array> {
    return this.#serial.run((n) => n.tokenize(text, addSpecial));
  }

  detokenize(tokens: ArrayLike<number>): Promise<string> {
    return this.#serial.run((n) => n.detokenize(Int32Array.from(tokens)));
  }

  /** Logits of every position, nVocab floats each, from one decode of `tokens`. */
  logits(tokens: ArrayLike<number>): Promise<Float32Array> {
    return this.#serial.run((n) => n.logits(Int32Array.from(tokens)));
  }

  /** Continues `prompt` (sampling or greedy), stopping at end-of-generation or maxNewTokens. */
  generate(prompt: ArrayLike<number>, options: SamplingOptions = {}): Promise<Int32Array> {
    return this.#serial.run((n) => n.generate(Int32Array.from(prompt), options));
  }

  /** Many prompts as parallel sequences of one context; each result as generate() would give it. */
  generateBatch(prompts: ArrayLike<number>[], options: SamplingOptions = {}): Promise<Int32Array[]> {
    return this.#serial.run((n) => n.generateBatch(prompts.map((p) => Int32Array.from(p)), options));
  }

  dispose(): Promise<void> {
    return this.#serial.dispose();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.#serial.disposed ? Promise.resolve() : this.dispose();
  }
}

export async function openRunner(model: string, adapters: AdapterRef[] = [], options: RunnerOptions = {}): Promise<Runner> {
  const device = options.device ?? process.env.TANG_LORA_DEVICE ?? 'auto';
  const refs = adapters.map((a) => ({ path: a.path, scale: a.scale ?? 1 }));
  return new Runner(await addon().openRunner(model, refs, { ...options, device }));
}
