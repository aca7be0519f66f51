// libllama inference from TypeScript: a GGUF base with LoRA adapters (each with a scale), its
// tokenizer (model/tokenizer.ts), every position's logits, and generation with Hugging Face
// sampling semantics (the no_repeat_ngram_size ban is our own libllama sampler).
import { Tokenizer } from '../model/tokenizer.js';
import { addon, type NativeRunner, type SamplingOptions } from '../native/binding.js';

export type { SamplingOptions } from '../native/binding.js';

export interface AdapterRef {
  path: string;
  scale?: number;
}

export interface RunnerOptions {
  device?: string; // "cpu" | "cuda" | "auto"
  nCtx?: number; // context size in tokens per sequence (default 1024)
  nParallel?: number; // sequences generateBatch decodes together (default 1)
  threads?: number;
}

export interface GenerateEvents {
  onToken?: (index: number, token: number) => void; // each new token of prompt `index`
  onDone?: (index: number, output: Int32Array) => void; // prompt `index` finished
  signal?: AbortSignal;
}

/** A model with its weights and adapters: a Tokenizer that also scores and generates. */
export class Runner extends Tokenizer {
  constructor(native: NativeRunner) {
    super(native, 'Runner');
  }

  /** Logits of every position, nVocab floats each, from one decode of `tokens`. */
  logits(tokens: ArrayLike<number>): Promise<Float32Array> {
    return this.serial.run((n) => n.logits(Int32Array.from(tokens)));
  }

  /** Continues `prompt` (sampling or greedy), stopping at end-of-generation, maxNewTokens or a stop string. */
  async generate(prompt: ArrayLike<number>, options: SamplingOptions = {}, events: GenerateEvents = {}): Promise<Int32Array> {
    return (await this.generateBatch([prompt], options, events))[0]!;
  }

  /**
   * Prompts as parallel sequences of one context (nParallel at a time); each result is what
   * the prompt alone would give. Events arrive before the Promise settles; an aborted signal
   * stops decoding and rejects with its reason.
   */
  generateBatch(prompts: ArrayLike<number>[], options: SamplingOptions = {}, events: GenerateEvents = {}): Promise<Int32Array[]> {
    const { onToken, onDone, signal } = events;
    const onEvent =
      onToken || onDone
        ? (i: number, x: number | Int32Array) => (typeof x === 'number' ? onToken?.(i, x) : onDone?.(i, x))
        : undefined;
    return this.serial.run(async (n) => {
      signal?.throwIfAborted();
      const cancel = () => n.cancel();
      signal?.addEventListener('abort', cancel, { once: true });
      try {
        return await n.generateBatch(prompts.map((p) => Int32Array.from(p)), options, onEvent);
      } catch (e) {
        throw signal?.aborted ? signal.reason : e;
      } finally {
        signal?.removeEventListener('abort', cancel);
      }
    });
  }
}

export async function openRunner(model: string, adapters: AdapterRef[] = [], options: RunnerOptions = {}): Promise<Runner> {
  const device = options.device ?? process.env.TANG_LORA_DEVICE ?? 'auto';
  const refs = adapters.map((a) => ({ path: a.path, scale: a.scale ?? 1 }));
  return new Runner(await addon().openRunner(model, refs, { ...options, device }));
}
