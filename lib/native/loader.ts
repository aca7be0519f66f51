// Finds and loads the native addon: $TANG_LORA_ADDON, else the local source build, else a
// prebuilt binary. Before loading, this CPU is checked against the x86 extensions the addon's
// CPU backend was compiled for (build-info.json beside it, written by its build): an addon
// compiled on another machine is refused with one sentence instead of dying of SIGILL.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Binding } from './binding.js';

/** build-info.json: what a build of the addon is (scripts/build-addon.mjs writes it). */
export interface BuildInfo {
  variant: 'cpu' | 'cuda';
  cpuIsa: string[]; // /proc/cpuinfo flag names the CPU backend needs
  llamaCppCommit?: string;
  cudaArchitectures?: string | null;
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

/** The build-info.json beside an addon file, if there is one. */
export function readBuildInfo(file: string): BuildInfo | undefined {
  const info = path.join(path.dirname(file), 'build-info.json');
  if (!fs.existsSync(info)) return undefined;
  try {
    return JSON.parse(fs.readFileSync(info, 'utf8')) as BuildInfo;
  } catch (e) {
    throw new Error(`${info} cannot be read as JSON: ${(e as Error).message.split('\n')[0]}`);
  }
}

/** This CPU's feature flags as the kernel lists them (/proc/cpuinfo), or undefined where there is none. */
export function cpuFlags(cpuinfo = '/proc/cpuinfo'): Set<string> | undefined {
  let text: string;
  try {
    text = fs.readFileSync(cpuinfo, 'utf8');
  } catch {
    return undefined;
  }
  const line = /^flags\s*:(.*)$/m.exec(text);
  return line ? new Set(line[1]!.trim().split(/\s+/)) : undefined;
}

/** The extensions of `required` that `flags` lacks (none where the flags are unknown). */
export function missingCpuFeatures(required: string[], flags: Set<string> | undefined): string[] {
  return flags ? required.filter((f) => !flags.has(f)) : [];
}

/** Loads the addon at `file`, turning the loader's errors into one sentence. */
export function loadAddonFrom(file: string): Binding {
  if (!fs.existsSync(file)) {
    throw new Error(`tang-lora native addon not found at ${file}; run \`npm install\` (or \`npm run build\`) to build it`);
  }
  const missing = missingCpuFeatures(readBuildInfo(file)?.cpuIsa ?? [], cpuFlags());
  if (missing.length > 0) {
    throw new Error(
      `tang-lora native addon at ${file} was compiled for CPU extensions this machine lacks (${missing.join(', ')}); ` +
        'rebuild it here with `npm rebuild tang-lora` (in a checkout: `npm run build`)',
    );
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
