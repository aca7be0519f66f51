// What the engine is built with and sees, and what a GGUF model file holds.
import { addon, type GgufSummary, type SystemInfo as NativeSystemInfo } from './native/binding.js';
import { loadedAddon, type LoadedAddon } from './native/loader.js';

export type { DeviceInfo, GgufSummary } from './native/binding.js';
export type { LoadedAddon } from './native/loader.js';

export interface SystemInfo extends NativeSystemInfo {
  addon: LoadedAddon; // which binary was loaded, from where and why
}

/** The pinned llama.cpp commit, ggml backends compiled in, devices found (name, memory), the addon loaded. */
export async function info(): Promise<SystemInfo> {
  return { ...(await addon().info()), addon: loadedAddon() };
}

/** Reads a GGUF file's header: architecture, layer count, dims, vocabulary, tensor types, size. */
export function inspect(modelPath: string): Promise<GgufSummary> {
  if (typeof modelPath !== 'string' || modelPath.length === 0) {
    return Promise.reject(new Error('inspect: a model path is required'));
  }
  return addon().inspect(modelPath);
}
