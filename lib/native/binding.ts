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

export interface Binding {
  build: { napiVersion: number; cuda: boolean };
  info(): Promise<SystemInfo>;
  inspect(path: string): Promise<GgufSummary>;
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
