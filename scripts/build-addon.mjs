#!/usr/bin/env node
// The source build of the addon (what `npm install` runs): unless a prebuilt platform package
// of tang-lora is installed (package.json's optionalDependencies) and this is not a git
// checkout (a checkout always builds its own native code), vendors llama.cpp
// (scripts/vendor.mjs), configures and builds the top-level CMakeLists.txt with cmake-js in
// build/cmake, and writes build/Release/build-info.json beside the addon (variant, the CPU
// extensions it needs, llama.cpp commit), which the loader checks this CPU against before
// loading it. A native build (the default) is compiled for this machine's CPU and keyed to its
// flags: on another machine the same checkout recompiles the CPU backend instead of reusing it.
// scripts/prebuild.mjs builds the platform packages with the same functions.
//
// Environment:
//   TANG_LORA_CUDA=1|0             force the CUDA variant on/off (default: on when nvcc and
//                                  cuBLAS are both found)
//   CMAKE_CUDA_ARCHITECTURES=90    narrow the CUDA architectures (default 80;86;89;90)
//   TANG_LORA_NATIVE=0             portable CPU code (an AVX2 baseline) instead of this machine's
//   TANG_LORA_BUILD_FROM_SOURCE=1  build even when a prebuilt package is installed
// Flags: --force (reconfigure from scratch).
import { createHash } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

export function step(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts });
  if (r.status !== 0) {
    console.error(`tang-lora: build step failed: ${path.basename(cmd)} ${args.slice(0, 2).join(' ')}`);
    process.exit(r.status || 1);
  }
}

/** nvcc and libcublas of one CUDA toolkit ({ nvcc, major }), or null. */
export function findCuda() {
  const homes = [process.env.CUDA_PATH, process.env.CUDA_HOME, '/usr/local/cuda'].filter(Boolean);
  try {
    const nvcc = execFileSync('which', ['nvcc'], { encoding: 'utf8' }).trim();
    if (nvcc) homes.unshift(path.dirname(path.dirname(fs.realpathSync(nvcc))));
  } catch {
    // not on PATH
  }
  for (const home of homes) {
    const nvcc = path.join(home, 'bin', 'nvcc');
    const libDirs = ['lib64', 'lib', 'targets/x86_64-linux/lib', 'targets/sbsa-linux/lib'].map((d) => path.join(home, d));
    const cublas = libDirs.some((d) => fs.existsSync(d) && fs.readdirSync(d).some((f) => f.startsWith('libcublas.so')));
    if (fs.existsSync(nvcc) && cublas) {
      const major = Number(/release (\d+)\./.exec(execFileSync(nvcc, ['--version'], { encoding: 'utf8' }))?.[1]);
      return { nvcc, major };
    }
  }
  return null;
}

// A key for this machine's CPU flags (/proc/cpuinfo), or 'unknown'.
function cpuKey() {
  let flags = 'unknown';
  try {
    flags = /^flags\s*:(.*)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim().split(/\s+/).sort().join(' ') ?? flags;
  } catch {
    // not Linux
  }
  return createHash('sha256').update(flags).digest('hex').slice(0, 16);
}

/** Configures (when `defs` changed since the last build in `buildDir`, or `force`) and builds with cmake-js. */
export function cmakeBuild(buildDir, defs, force = false) {
  const optionsFile = path.join(buildDir, 'tang-lora-options.json');
  const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
  const common = ['--out', buildDir, '--parallel', String(os.availableParallelism()), '--log-level', 'warn'];
  const cdArgs = Object.entries(defs).map(([k, v]) => `--CD${k}=${v}`);
  let previous = null;
  try {
    previous = fs.readFileSync(optionsFile, 'utf8');
  } catch {
    // first build
  }
  if (force) fs.rmSync(buildDir, { recursive: true, force: true });
  if (force || previous !== JSON.stringify(defs)) {
    // a fresh cache, so that a definition dropped since the last configure does not linger in it
    // (nor a compiler detected for the old one); llama.cpp's objects, in its own folders, stay for reuse
    for (const f of ['CMakeCache.txt', 'CMakeFiles']) fs.rmSync(path.join(buildDir, f), { recursive: true, force: true });
    console.log(`tang-lora: configuring the addon (${defs.TANG_LORA_CUDA === 'ON' ? `CUDA ${defs.CMAKE_CUDA_ARCHITECTURES}` : 'CPU'})`);
    step(process.execPath, [cmakeJs, 'configure', ...common, ...cdArgs]);
    fs.writeFileSync(optionsFile, JSON.stringify(defs));
  }
  step(process.execPath, [cmakeJs, 'build', ...common, ...cdArgs]);
}

/** build-info.json beside the addon: what the addon reports (loaded in a child process on this,
 * the build machine), the vendored tree's stamp, and `extra`. */
export function writeBuildInfo(addonFile, variant, extra = {}) {
  const probe = spawnSync(process.execPath, ['-e', 'console.log(JSON.stringify(require(process.argv[1]).build))', addonFile], {
    encoding: 'utf8',
  });
  if (probe.status !== 0) {
    console.error(`tang-lora: the built addon does not load: ${(probe.stderr || '').trim().split('\n')[0]}`);
    process.exit(1);
  }
  const build = JSON.parse(probe.stdout);
  const stamp = JSON.parse(fs.readFileSync(path.join(root, 'native', 'vendor', 'llama.cpp.stamp.json'), 'utf8'));
  const info = {
    variant,
    cpuIsa: build.cpuIsa.split(' ').filter(Boolean),
    llamaCppCommit: stamp.commit,
    patches: createHash('sha256').update(JSON.stringify(stamp.patches)).digest('hex').slice(0, 16),
    ...extra,
  };
  const file = path.join(path.dirname(addonFile), 'build-info.json');
  fs.writeFileSync(file + '.tmp', JSON.stringify(info, null, 2) + '\n');
  fs.renameSync(file + '.tmp', file);
  return info;
}

/** The prebuilt platform packages of package.json's optionalDependencies that are installed. */
export function installedPrebuilts() {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  const from = createRequire(path.join(root, 'package.json'));
  return Object.keys(pkg.optionalDependencies ?? {}).filter((name) => {
    try {
      return fs.existsSync(path.join(path.dirname(from.resolve(`${name}/package.json`)), 'tang_lora.node'));
    } catch {
      return false;
    }
  });
}

function main() {
  // A git checkout is for development: it always builds its own native code.
  const prebuilt = fs.existsSync(path.join(root, '.git')) ? [] : installedPrebuilts();
  if (prebuilt.length > 0 && process.env.TANG_LORA_BUILD_FROM_SOURCE !== '1') {
    console.log(`tang-lora: using the prebuilt addon (${prebuilt.join(', ')}); TANG_LORA_BUILD_FROM_SOURCE=1 builds from source`);
    return;
  }
  step(process.execPath, [path.join(root, 'scripts', 'vendor.mjs')]);
  const want = process.env.TANG_LORA_CUDA;
  const cuda = want === '0' ? null : findCuda();
  if (want === '1' && !cuda) {
    console.error('tang-lora: TANG_LORA_CUDA=1 but no CUDA toolkit with nvcc and cuBLAS was found (set CUDA_PATH)');
    process.exit(1);
  }
  const defs = {
    TANG_LORA_CUDA: cuda ? 'ON' : 'OFF',
    TANG_LORA_NATIVE: process.env.TANG_LORA_NATIVE === '0' ? 'OFF' : 'ON',
    CMAKE_BUILD_TYPE: 'Release',
  };
  if (defs.TANG_LORA_NATIVE === 'ON') defs.TANG_LORA_CPU_KEY = cpuKey();
  if (cuda) {
    defs.CMAKE_CUDA_COMPILER = cuda.nvcc;
    defs.CMAKE_CUDA_ARCHITECTURES = process.env.CMAKE_CUDA_ARCHITECTURES || '80;86;89;90';
  }
  cmakeBuild(path.join(root, 'build', 'cmake'), defs, process.argv.includes('--force'));
  writeBuildInfo(path.join(root, 'build', 'Release', 'tang_lora.node'), cuda ? `cuda${cuda.major}` : 'cpu', {
    native: defs.TANG_LORA_NATIVE === 'ON',
    cudaArchitectures: defs.CMAKE_CUDA_ARCHITECTURES ?? null,
  });
  console.log('tang-lora: built build/Release/tang_lora.node');
}

if (process.argv[1] && pathToFileURL(path.resolve(process.argv[1])).href === import.meta.url) main();
