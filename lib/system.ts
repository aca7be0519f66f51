// What the engine is built with and sees, and what a GGUF model file holds.
import { addon, type GgufSummary, type SystemInfo } from './native/binding.js';

export type { DeviceInfo, GgufSummary, SystemInfo } from './native/binding.js';

/** The pinned llama.cpp commit, ggml backends compiled in, devices found (name, memory). */
export function info(): Promise<SystemInfo> {
  return addon().info();
}

/** Reads a GGUF file's header: architecture, layer count, dims, vocabulary, tensor types, size. */
export function inspect(modelPath: string): Promise<GgufSummary> {
  if (typeof modelPath !== 'string' || modelPath.length === 0) {
    return Promise.reject(new Error('inspect: a model path is required'));
  }
  return addon().inspect(modelPath);
}
