// Finds and loads the native addon, in this order: $TANG_LORA_ADDON; a source build of this
// package (build/Release/); the best installed prebuilt platform package (package.json's
// optionalDependencies, chosen by variants.ts from what the driver probe says, or forced by
// TANG_LORA_VARIANT), falling back to the next with one warning line when one cannot load.
// Before loading any of them, this CPU is checked against the x86 extensions its CPU backend
// was compiled for (build-info.json beside it): an addon compiled on another machine is refused
// with one sentence instead of dying of SIGILL.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Binding } from './binding.js';
import { chooseVariants, type CudaProbe, type VariantInfo } from './variants.js';
import { packageRoot } from '../package-root.js';

/** build-info.json: what a build of the addon is (scripts/build-addon.mjs and prebuild.mjs write it). */
export interface BuildInfo extends VariantInfo {
  cpuIsa: string[]; // /proc/cpuinfo flag names the CPU backend needs
  llamaCppCommit?: string;
  glibc?: string;
}

/** Which addon was loaded, from where and why. */
export interface LoadedAddon {
  file: string;
  variant: string;
  why: string;
}

const sourceBuild = path.join(packageRoot, 'build', 'Release', 'tang_lora.node');

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
    throw new Error(`tang-lora native addon not found at ${file}; run \`npx tang-lora build\` (in a checkout: \`npm install\`) to build it`);
  }
  const missing = missingCpuFeatures(readBuildInfo(file)?.cpuIsa ?? [], cpuFlags());
  if (missing.length > 0) {
    throw new Error(
      `tang-lora native addon at ${file} was compiled for CPU extensions this machine lacks (${missing.join(', ')}); ` +
        'rebuild it here with `npx tang-lora build` (in a checkout: `npm run compile`)',
    );
  }
  try {
    return createRequire(import.meta.url)(file) as Binding;
  } catch (e) {
    const why = String((e as Error).message).split('\n')[0];
    throw new Error(
      `tang-lora native addon at ${file} cannot be loaded on this ${process.platform}-${process.arch} ` +
        `Node ${process.versions.node} (built for another platform or Node ABI?): ${why}; rebuild it with \`npx tang-lora build\``,
    );
  }
}

/** The installed prebuilt packages (folder and build-info), those of this platform npm installed. */
export function prebuiltPackages(): { dir: string; info: BuildInfo }[] {
  const pkg = JSON.parse(fs.readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as { optionalDependencies?: Record<string, string> };
  const from = createRequire(path.join(packageRoot, 'package.json'));
  return Object.keys(pkg.optionalDependencies ?? {}).flatMap((name) => {
    let dir: string;
    try {
      dir = path.dirname(from.resolve(`${name}/package.json`));
    } catch {
      return [];
    }
    const info = readBuildInfo(path.join(dir, 'tang_lora.node'));
    return info && fs.existsSync(path.join(dir, 'tang_lora.node')) ? [{ dir, info }] : [];
  });
}

/** The driver's answer through the first package's tang_probe.node (no CUDA binary is loaded). */
function probeCuda(dirs: string[]): CudaProbe | null {
  const probe = dirs.map((d) => path.join(d, 'tang_probe.node')).find((f) => fs.existsSync(f));
  if (!probe) return null;
  try {
    return (createRequire(import.meta.url)(probe) as { cuda(): CudaProbe | null }).cuda();
  } catch {
    return null;
  }
}

/** The library a failed load could not find, or the loader's own first line. */
const loadFailure = (e: unknown) => {
  const m = /(lib[\w.+-]+\.so[\d.]*): cannot open shared object file/.exec(String((e as Error).message));
  return m ? `${m[1]} is not installed` : String((e as Error).message).split('\n')[0]!;
};

type Loaded = { binding: Binding; loaded: LoadedAddon };

/**
 * Loads the best of the installed prebuilt packages (variants.ts' order), the next one when one
 * fails to load (`warn` gets one line naming what is missing).
 */
export function loadBestPrebuilt(
  packages: { dir: string; info: BuildInfo }[],
  probe: CudaProbe | null,
  forced?: string,
  tryLoad: (file: string) => Binding = loadAddonFrom,
  warn: (line: string) => void = (l) => console.error(l),
): Loaded {
  const choices = chooseVariants(packages.map((p) => p.info), probe, forced);
  if (choices.length === 0) {
    const names = packages.map((p) => p.info.variant).join(', ');
    throw new Error(`no installed prebuilt of tang-lora (${names}) runs on this machine; install @tang-lora/linux-x64 or run \`npx tang-lora build\``);
  }
  let last: unknown;
  for (const [i, c] of choices.entries()) {
    const file = path.join(packages.find((p) => p.info.variant === c.variant)!.dir, 'tang_lora.node');
    try {
      return { binding: tryLoad(file), loaded: { file, variant: c.variant, why: c.why } };
    } catch (e) {
      last = e;
      const next = choices[i + 1];
      if (next) warn(`tang-lora: the ${c.variant} prebuilt cannot be loaded (${loadFailure(e)}); using ${next.variant}`);
    }
  }
  throw last;
}

let cached: Loaded | undefined;

// One named file, its variant from its build-info.json.
const loadFile = (file: string, why: string): Loaded => ({
  binding: loadAddonFrom(file),
  loaded: { file, variant: readBuildInfo(file)?.variant ?? 'unknown', why },
});

function load(): Loaded {
  const env = process.env.TANG_LORA_ADDON;
  if (env) return loadFile(path.resolve(env), 'TANG_LORA_ADDON');
  const forced = process.env.TANG_LORA_VARIANT;
  if (!forced && fs.existsSync(sourceBuild)) return loadFile(sourceBuild, 'a source build of this package');
  const packages = prebuiltPackages();
  if (packages.length === 0) {
    throw new Error(`tang-lora has no native addon for ${process.platform}-${process.arch}: no source build and no prebuilt package; run \`npx tang-lora build\``);
  }
  return loadBestPrebuilt(packages, probeCuda(packages.map((p) => p.dir)), forced);
}

/** The addon, loaded once. */
export function addon(): Binding {
  return (cached ??= load()).binding;
}

/** Which addon addon() loaded, from where and why. */
export function loadedAddon(): LoadedAddon {
  return (cached ??= load()).loaded;
}

/** Where the addon would be looked for first (for messages and tests). */
export function addonCandidates(): string[] {
  const env = process.env.TANG_LORA_ADDON;
  return env ? [path.resolve(env)] : [sourceBuild, ...prebuiltPackages().map((p) => path.join(p.dir, 'tang_lora.node'))];
}
