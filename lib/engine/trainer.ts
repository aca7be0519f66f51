// The native QLoRA training engine, driven step by step from TypeScript:
//   const t = await openTrainer('base.gguf', { rank: 8 }, { device: 'cuda' });
//   for (const mb of microBatches) await t.trainMicroBatch(mb, { lossScale });  // grads accumulate
//   await t.optimizerStep({ lr });                                             // clip + AdamW
//   await t.saveAdapter('adapter.gguf'); await t.dispose();
// Calls are queued, so they never overlap on the native side, and none blocks the event loop.
import {
  addon,
  type AdamWSettings,
  type MemoryNeeds,
  type MicroBatchStats,
  type NativeLoraConfig,
  type NativeTrainer,
  type NativeTrainerOptions,
  type TrainerInfo,
} from '../native/binding.js';
import { Serial } from '../native/serial.js';

export type { AdamWSettings, MemoryNeeds, MicroBatchStats, TrainerInfo } from '../native/binding.js';

export interface LoraConfig extends NativeLoraConfig {}
export interface TrainerOptions extends NativeTrainerOptions {}

/**
 * One micro-batch: `rows` rows of equal length, flattened row after row.
 * labels follow Hugging Face: aligned with tokens, -100 = not a target; the logits at
 * position t learn labels[t + 1]. segments: sample index per token within its row
 * (positions restart and attention stops at a change), -1 = padding.
 */
export interface Batch {
  rows: number;
  tokens: Int32Array;
  labels: Int32Array;
  segments: Int32Array;
}

export class Trainer implements AsyncDisposable {
  #serial: Serial<NativeTrainer>;

  constructor(native: NativeTrainer) {
    this.#serial = new Serial(native, 'Trainer');
  }

  #enqueue<T>(call: (n: NativeTrainer) => T | Promise<T>): Promise<T> {
    return this.#serial.run(call);
  }

  /** Forward + backward; gradients accumulate until optimizerStep(). lossScale: see HF normalization. */
  trainMicroBatch(b: Batch, opts: { lossScale?: number } = {}): Promise<MicroBatchStats> {
    return this.#enqueue((n) => n.trainMicroBatch(b.rows, b.tokens, b.labels, b.segments, opts.lossScale ?? 1));
  }

  /** Loss without gradients or dropout. */
  evalLoss(b: Batch): Promise<MicroBatchStats> {
    return this.#enqueue((n) => n.evalLoss(b.rows, b.tokens, b.labels, b.segments));
  }

  /** Logits for every token, (nVocab) floats per token, no dropout. */
  logits(b: Pick<Batch, 'rows' | 'tokens' | 'segments'>): Promise<{ nVocab: number; data: Float32Array }> {
    return this.#enqueue((n) => n.logits(b.rows, b.tokens, b.segments));
  }

  /** Global-norm clipping then AdamW on the accumulated gradients, which are then zeroed. */
  optimizerStep(settings: AdamWSettings): Promise<{ gradNorm: number; step: number }> {
    return this.#enqueue((n) => n.optimizerStep(settings));
  }

  /** Sizes a training step of `rows` x `len` tokens (the memory plan's inputs; nothing is allocated). */
  measureMemory(rows: number, len: number): Promise<MemoryNeeds> {
    return this.#enqueue((n) => n.measureMemory(rows, len));
  }

  /** The last n residual blocks keep their activations; the others are recomputed (n >= all: none is). */
  setKeptBlocks(n: number): Promise<void> {
    return this.#enqueue((t) => t.setKeptBlocks(n));
  }

  /** bf16 copies replace the quantized weights (GPU only): no expansion per product, more memory. */
  useBf16Weights(): Promise<void> {
    return this.#enqueue((n) => n.useBf16Weights());
  }

  saveAdapter(path: string): Promise<void> {
    return this.#enqueue((n) => n.saveAdapter(path));
  }

  loadAdapter(path: string): Promise<void> {
    return this.#enqueue((n) => n.loadAdapter(path));
  }

  /** Rejects unless the adapter file holds exactly the current A and B (a checkpoint's adapter vs its state). */
  checkAdapter(path: string): Promise<void> {
    return this.#enqueue((n) => n.checkAdapter(path));
  }

  saveState(path: string): Promise<void> {
    return this.#enqueue((n) => n.saveState(path));
  }

  loadState(path: string): Promise<void> {
    return this.#enqueue((n) => n.loadState(path));
  }

  /** A LoRA tensor by name (e.g. "blk.0.attn_q.weight.lora_a", "+.grad", "+.adam_m"). */
  readTensor(name: string): Promise<Float32Array> {
    return this.#enqueue((n) => n.readTensor(name));
  }

  info(): Promise<TrainerInfo> {
    return this.#enqueue((n) => n.info());
  }

  dispose(): Promise<void> {
    return this.#serial.dispose();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.#serial.disposed ? Promise.resolve() : this.dispose();
  }
}

/** The positions of a batch the loss scores: those whose next token, in the same sample, has a
 * label (the engine's own rule; train() weighs micro-batches by it, as the HF Trainer). */
export function countTargets(b: Pick<Batch, 'rows' | 'labels' | 'segments'>): number {
  return addon().countTargets(b.rows, b.labels, b.segments);
}

/** Loads a GGUF base model onto a device and attaches a fresh LoRA adapter (peft's init). */
export async function openTrainer(model: string, lora: LoraConfig = {}, options: TrainerOptions = {}): Promise<Trainer> {
  if (typeof model !== 'string' || !model) throw new Error('openTrainer: a model path is required');
  const device = options.device ?? process.env.TANG_LORA_DEVICE ?? 'auto';
  return new Trainer(await addon().openTrainer(model, lora, { ...options, device }));
}
