// The one typed view of the native addon (native/addon/addon.cpp registers exactly this),
// and the loader that finds it. The rest of lib/ goes through the public API, not here.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

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
  hostMs: number; // wall time outside graph computation (building, allocating, copying in and out)
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
  hparams: { arch: string; nLayer: number; nEmbd: number; nFf: number; nHead: number; nHeadKv: number; nVocab: number };
  loraTensors: string[];
}

export interface NativeTrainer {
  trainMicroBatch(rows: number, tokens: Int32Array, labels: Int32Array, segments: Int32Array, lossScale: number): Promise<MicroBatchStats>;
  evalLoss(rows: number, tokens: Int32Array, labels: Int32Array, segments: Int32Array): Promise<MicroBatchStats>;
  logits(rows: number, tokens: Int32Array, segments: Int32Array): Promise<{ nVocab: number; data: Float32Array }>;
  optimizerStep(settings: AdamWSettings): Promise<{ gradNorm: number; step: number }>;
  saveAdapter(path: string): Promise<void>;
  loadAdapter(path: string): Promise<void>;
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
  build: { napiVersion: number; cuda: boolean };
  info(): Promise<SystemInfo>;
  inspect(path: string): Promise<GgufSummary>;
  createModel(spec: NativeModelSpec, out: string, vocab: string): Promise<{ nVocab: number; nParams: number; fileSize: number }>;
  quantize(input: string, out: string, type: string): Promise<void>;
  openTrainer(model: string, lora: NativeLoraConfig, options: NativeTrainerOptions): Promise<NativeTrainer>;
  openRunner(
    model: string,
    adapters: Array<{ path: string; scale: number }>,
    options: { device?: string; nCtx?: number; nParallel?: number; threads?: number; vocabOnly?: boolean },
  ): Promise<NativeRunner>;
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** Where the addon may be, in order: $TANG_LORA_ADDON, the local build, a prebuilt binary. */
export function addonCandidates(): string[] {
  const env = process.env.TANG_LORA_ADDON;
  if (env) return [path.resolve(env)];
  return [
    path.join(root, 'build', 'Release', 'tang_lora.node'),
    path.join(root, 'prebuilds', `${process.platform}-${process.arch}`, 'tang_lora.node'),
  ];
}

/** Loads the addon at `file`, turning the loader's errors into one sentence. */
export function loadAddonFrom(file: string): Binding {
  if (!fs.existsSync(file)) {
    throw new Error(`tang-lora native addon not found at ${file}; run \`npm install\` (or \`npm run build\`) to build it`);
  }
  try {
    return createRequire(import.meta.url)(file) as Binding;
  } catch (e) {
    const why = String((e as Error).message).split('\n')[0];
    throw new Error(
      `tang-lora native addon at ${file} cannot be loaded on this ${process.platform}-${process.arch} ` +
        `Node ${process.versions.node} (built for another platform or Node ABI?): ${why}; rebuild it with \`npm run build\``,
    );
  }
}

let cached: Binding | undefined;

/** The addon, loaded once from the first candidate that exists. */
export function addon(): Binding {
  if (cached) return cached;
  const candidates = addonCandidates();
  const found = candidates.find((f) => fs.existsSync(f)) ?? candidates[0]!;
  cached = loadAddonFrom(found);
  return cached;
}
