// The flags of generation, shared by `generate` and `eval` (which can generate first); the
// options themselves: lib/generate/options.ts.
import fs from 'node:fs';
import type { Argv } from 'yargs';
import { GENERATION_OPTIONS, type AdapterRef, type GenerateOptions } from '../index.js';
import { addOptions, readOptions, UsageError } from './options.js';

/** "adapter.gguf" or "adapter.gguf:0.5" (a path that itself ends in ":x" is taken whole if it exists). */
export function parseLora(spec: string): AdapterRef {
  const at = spec.lastIndexOf(':');
  if (at < 0 || spec.slice(at + 1).includes('/') || fs.existsSync(spec)) return { path: spec, scale: 1 };
  const scale = spec.slice(at + 1);
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(scale)) throw new UsageError(`--lora '${spec}': the scale '${scale}' is not a number`);
  return { path: spec.slice(0, at), scale: Number(scale) };
}

export function generationFlags<T>(y: Argv<T>) {
  return addOptions(y, GENERATION_OPTIONS);
}

/** The generation options the flags name; the model comes from --model. */
export function generationOptions(a: Record<string, unknown>, signal?: AbortSignal): GenerateOptions {
  const { lora, ...rest } = readOptions(GENERATION_OPTIONS, a);
  return { ...rest, model: a.model as string, adapters: (lora ?? []).map(parseLora), signal };
}

/** An AbortSignal that Ctrl-C fires (a second Ctrl-C exits at once). */
export function interruptSignal(): AbortSignal {
  const ac = new AbortController();
  process.once('SIGINT', () => {
    ac.abort(new Error('interrupted'));
    process.once('SIGINT', () => process.exit(130));
  });
  return ac.signal;
}
