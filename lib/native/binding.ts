// The one typed view of the native addon (native/addon/addon.cpp registers exactly this);
// loader.ts finds and loads it. The rest of lib/ goes through the public API, not here.

export interface DeviceInfo {
  name: string; // ggml device name: "CPU", "CUDA0", ...
  description: string;
  type: 'cpu' | 'gpu' | 'igpu' | 'accel' | 'unknown';
  backend: string; // the ggml backend it belongs to: "CPU", "CUDA", ...
  memoryFree: number; // bytes
  memoryTotal: number; // bytes
}

export interface SystemInfo {
  llamaCppCommit: string;
  backends: string[]; // ggml backends compiled into the addon
  devices: DeviceInfo[];
  cpu: {
    isa: string[]; // x86 extensions the CPU backend was compiled to use (/proc/cpuinfo names)
    extraBufferTypes: string[]; // repacked weight layouts libllama may use: "CPU_REPACK", "AMX"
    amx: string; // "in use ...", or why ggml's AMX kernels are not
  };
}

export interface GgufSummary {
  path: string;
  fileSize: number; // bytes
  version: number; // GGUF format version
  type: string; // general.type: "model", "adapter" or ""
  architecture: string; // general.architecture, e.g. "llama"
  name: string;
  nLayer: number; // -1 where the file does not say
  nEmbd: number;
  nFf: number;
  nHead: number;
  nHeadKv: number;
  nCtxTrain: number;
  nVocab: number;
  nKv: number; // metadata entries
  nTensors: number;
  nParams: number;
  tensorTypes: Record<string, number>; // ggml type name -> tensor count
}

export interface NativeLoraConfig {
  rank?: number;
  alpha?: number;
  dropout?: number;
  targets?: string[]; // q_proj ... down_proj (or attn_q ... ffn_down)
  seed?: number;
}

export interface NativeTrainerOptions {
  device?: string; // "cpu" | "cuda" | "auto" | a ggml device name
  threads?: number;
  /** Recompute activations per residual block in the backward pass (default true, as the
   * reference's gradient checkpointing); false keeps them all: faster, more memory. */
  checkpointing?: boolean;
  /** With checkpointing: the last this many residual blocks (two per layer) keep their
   * activations instead of being recomputed: faster, more memory (default 0). */
  keepBlocks?: number;
}

export interface MicroBatchStats {
  loss: number; // mean cross-entropy over the micro-batch's targets
  targets: number;
  tokens: number;
  cpuNodes: number; // graph nodes on the CPU backend while a GPU was chosen
  computeBytes: number;
  graphs: number; // graphs computed for the micro-batch
  graphsReused: number; // of them, launched again as built for an earlier micro-batch of the same shape
  hostMs: number; // wall time outside computing and waiting for it (building, allocating, copying)
}

export interface AdamWSettings {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
  maxGradNorm?: number;
}

export interface TrainerInfo {
  device: string;
  step: number;
  loraParams: number;
  weightBytes: number;
  peakComputeBytes: number;
  keptBlocks: number; // residual blocks that keep their activations (the rest are recomputed)
  bf16Weights: boolean; // the quantized weights were replaced by bf16 copies
  hparams: { arch: string; nLayer: number; nEmbd: number; nFf: number; nHead: number; nHeadKv: number; nVocab: number };
  loraTensors: string[];
}

/** What a training step of a given shape needs (Trainer.measureMemory; engine/memory-plan.ts). */
export interface MemoryNeeds {
  freeBytes: number; // the device's free memory now
  totalBytes: number;
  heldBytes: number; // allocated: weights, LoRA tensors, gradients, AdamW moments
  slotBytes: number; // one stored block input
  headBytes: number; // compute buffer of the graph that keeps no block (the head)
  layerBytes: number; // what it needs more per kept layer (two blocks)
  blockBytes: number; // compute buffers of the recomputing graphs (the storing forward pass, an attention block, a feed-forward block); the largest when sharedBuffers
  sharedBuffers: boolean; // one compute buffer serves every graph (the CPU), instead of one per kind of graph
  bf16ExtraBytes: number; // what bf16 copies of the quantized weights add (0: not offered, as on the CPU)
  bf16SourceBytes: number; // the quantized weights, held beside their copies while they are made
  scratchBytes: number; // the GPU's temporary bf16 operands of one product at most (0 on the CPU)
  stepBytes: number; // the optimizer step's buffer (the gradients squared for their norm)
  nBlocks: number; // residual blocks, two per layer
}

export interface NativeTrainer {
  measureMemory(rows: number, len: number): Promise<MemoryNeeds>;
  setKeptBlocks(n: number): void;
  useBf16Weights(): Promise<void>;
  trainMicroBatch(rows: number, tokens: Int32Array, labels: Int32Array, segments: Int32Array, lossScale: number): Promise<MicroBatchStats>;
  evalLoss(rows: number, tokens: Int32Array, labels: Int32Array, segments: Int32Array): Promise<MicroBatchStats>;
  logits(rows: number, tokens: Int32Array, segments: Int32Array): Promise<{ nVocab: number; data: Float32Array }>;
  optimizerStep(settings: AdamWSettings): Promise<{ gradNorm: number; step: number }>;
  saveAdapter(path: string): Promise<void>;
  loadAdapter(path: string): Promise<void>;
  checkAdapter(path: string): Promise<void>; // rejects unless the file holds the adapter as it is now
  saveState(path: string): Promise<void>;
  loadState(path: string): Promise<void>;
  readTensor(name: string): Float32Array;
  info(): TrainerInfo;
  dispose(): Promise<void>;
}

export interface NativeModelSpec {
  arch?: string;
  nLayer?: number;
  nEmbd?: number;
  nFf?: number;
  nHead?: number;
  nHeadKv?: number;
  nCtx?: number;
  ropeBase?: number;
  eps?: number;
  type?: string;
  seed?: number;
  outputScale?: number; // output weights this much sharper than the other matrices (default 1)
  chatTemplate?: string; // tokenizer.chat_template
}

/** Hugging Face generate() semantics; defaults are the reference recipe's. */
export interface SamplingOptions {
  temperature?: number; // 0 = greedy (default 0.1)
  doSample?: boolean; // false = greedy (default true)
  topK?: number; // 0 = off (default)
  topP?: number; // default 0.3
  minP?: number; // default 0
  repeatPenalty?: number; // 1 = off (default)
  noRepeatNgramSize?: number; // default 3, 0 = off
  maxNewTokens?: number; // default 128
  seed?: number; // default 42
  stop?: string[]; // a sequence ends once its text contains one of these
}

export interface NativeRunner {
  tokenize(text: string, addSpecial: boolean): Int32Array;
  detokenize(tokens: Int32Array): string;
  logits(tokens: Int32Array): Promise<Float32Array>;
  /** onEvent(index, token) per new token, onEvent(index, tokens) when a prompt is done; all before the Promise settles. */
  generateBatch(
    prompts: Int32Array[],
    options: SamplingOptions,
    onEvent?: (index: number, tokenOrOutput: number | Int32Array) => void,
  ): Promise<Int32Array[]>;
  cancel(): void;
  chatPrompt(system: string, user: string): string; // the running generateBatch rejects with 'generation cancelled'
  info(): { nVocab: number; eos: number };
  dispose(): Promise<void>;
}

export interface Binding {
  build: { napiVersion: number; cuda: boolean; cpuIsa: string };
  info(): Promise<SystemInfo>;
  inspect(path: string): Promise<GgufSummary>;
  createModel(spec: NativeModelSpec, out: string, vocab: string): Promise<{ nVocab: number; nParams: number; fileSize: number }>;
  quantize(input: string, out: string, type: string): Promise<void>;
  mergeAdapters(base: string, adapters: { path: string; scale: number }[], out: string): Promise<void>;
  openTrainer(model: string, lora: NativeLoraConfig, options: NativeTrainerOptions): Promise<NativeTrainer>;
  countTargets(rows: number, labels: Int32Array, segments: Int32Array): number; // the loss's scored positions
  openRunner(
    model: string,
    adapters: Array<{ path: string; scale: number }>,
    options: { device?: string; nCtx?: number; nParallel?: number; threads?: number; vocabOnly?: boolean },
  ): Promise<NativeRunner>;
}

export { addon } from './loader.js';
