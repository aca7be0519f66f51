#!/usr/bin/env node
// Builds one prebuilt platform package of tang-lora and checks it:
//   npm run prebuild -- --variant cpu|cuda12|cuda13 --out <dir>
// writes <dir>/tang-lora-linux-x64[-cudaNN]-<version>.tgz: the package @tang-lora/linux-x64[-cudaNN]
// with one self-contained tang_lora.node (portable AVX2-baseline CPU code, static libstdc++, the
// user's CUDA runtime found through RUNPATH; libcuda is the driver's), tang_probe.node (the
// driver probe the loader asks first) and build-info.json. Then it checks the libraries the
// addon needs against an allow list, its highest GLIBC symbol version, the CUDA architectures
// in it (cuobjdump) and the tarball's size, and fails if a check fails. The same sources give
// the same package: fixed flags, build paths mapped out of the binary, npm pack's fixed dates.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { cmakeBuild, findCuda, root, step, writeBuildInfo } from './build-addon.mjs';

// SASS per architecture, and PTX that later GPUs compile at load time. Blackwell's SASS is 120a
// (ggml-cuda asks for it: its FP4 instructions); ggml's MXFP4/NVFP4 kernels cannot be built as
// plain compute_120 PTX and 120a's PTX runs on 12.0 alone, so the PTX is compute_90's.
const VARIANTS = {
  cpu: { cuda: null },
  cuda12: { cuda: 12, sass: [80, 86, 89, 90], ptx: 90 },
  cuda13: { cuda: 13, sass: [80, 86, 89, 90, 120], ptx: 90 },
};
const GLIBC_MAX = '2.34'; // Ubuntu 22.04, Debian 12, RHEL 9 and later
const MAX_TARBALL = 256 << 20; // well under what the npm registry takes
const allowedLibs = (cuda) => [
  'libc.so.6', 'libm.so.6', 'libpthread.so.0', 'libdl.so.2', 'librt.so.1', 'libgcc_s.so.1', 'ld-linux-x86-64.so.2',
  ...(cuda ? ['libcuda.so.1', `libcudart.so.${cuda}`, `libcublas.so.${cuda}`, `libcublasLt.so.${cuda}`] : []),
];

const args = yargs(hideBin(process.argv))
  .option('variant', { type: 'string', demandOption: true, choices: Object.keys(VARIANTS) })
  .option('out', { type: 'string', demandOption: true, describe: 'Folder for the package tarball' })
  .strict()
  .parseSync();
const fail = (what) => {
  console.error(`prebuild ${args.variant}: ${what}`);
  process.exit(1);
};
// CMAKE_CUDA_ARCHITECTURES=90 (as for a source build) narrows a CUDA variant to SASS of those
// architectures and PTX of the lowest of them (at most the variant's own): a quick build for
// checking the packaging on one GPU, not for release; build-info.json then says "narrowed".
const given = process.env.CMAKE_CUDA_ARCHITECTURES;
const narrowed = VARIANTS[args.variant].cuda && given ? given.split(';').map((a) => Number(a)) : null;
if (narrowed?.some((a) => !Number.isInteger(a) || a < 50)) fail(`CMAKE_CUDA_ARCHITECTURES=${given} is not a list of architectures such as 90 or 80;90`);
const variant = narrowed
  ? { ...VARIANTS[args.variant], sass: narrowed, ptx: Math.min(...narrowed, VARIANTS[args.variant].ptx) }
  : VARIANTS[args.variant];
if (narrowed) console.error(`prebuild ${args.variant}: narrowed to SASS ${narrowed.join(',')} by CMAKE_CUDA_ARCHITECTURES (not a release build)`);
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const name = `@tang-lora/linux-x64${variant.cuda ? `-cuda${variant.cuda}` : ''}`;
if (process.platform !== 'linux' || process.arch !== 'x64') fail('platform packages are built on linux-x64');

const cuda = variant.cuda ? findCuda() : null;
if (variant.cuda && cuda?.major !== variant.cuda) fail(`needs a CUDA ${variant.cuda} toolkit with nvcc and cuBLAS (found ${cuda ? `CUDA ${cuda.major}` : 'none'}; set CUDA_PATH)`);

step(process.execPath, [path.join(root, 'scripts', 'vendor.mjs')]);
const work = path.resolve(root, 'build', `prebuild-${args.variant}`);
const staging = path.join(work, 'package');
const defs = {
  TANG_LORA_CUDA: cuda ? 'ON' : 'OFF',
  TANG_LORA_NATIVE: 'OFF',
  TANG_LORA_PREBUILT: 'ON',
  TANG_LORA_OUTPUT_DIR: staging,
  CMAKE_BUILD_TYPE: 'Release',
  // the AVX2 baseline, named (ggml turns these off by itself when SOURCE_DATE_EPOCH is set)
  GGML_SSE42: 'ON', GGML_AVX: 'ON', GGML_AVX2: 'ON', GGML_FMA: 'ON', GGML_F16C: 'ON', GGML_BMI2: 'ON',
  CMAKE_C_FLAGS: `-ffile-prefix-map=${root}=.`,
  CMAKE_CXX_FLAGS: `-ffile-prefix-map=${root}=.`,
  ...(cuda
    ? {
        CMAKE_CUDA_COMPILER: cuda.nvcc,
        CMAKE_CUDA_ARCHITECTURES: [...variant.sass.map((a) => `${a}${a >= 120 ? 'a' : ''}-real`), `${variant.ptx}-virtual`].join(';'),
        // nvcc compiles a file's architectures on 3 threads: the last, largest files end sooner
        CMAKE_CUDA_FLAGS: '--threads=3',
      }
    : {}),
};
fs.rmSync(staging, { recursive: true, force: true });
cmakeBuild(path.join(work, 'cmake'), defs);
const addon = path.join(staging, 'tang_lora.node');

// What the binary needs and holds.
const tool = (cmd, a) => execFileSync(cmd, a, { encoding: 'utf8', maxBuffer: 1 << 28 });
const needed = [...tool('readelf', ['-d', addon]).matchAll(/\(NEEDED\).*\[(.+)\]/g)].map((m) => m[1]);
const extra = needed.filter((l) => !allowedLibs(variant.cuda).includes(l));
if (extra.length) fail(`tang_lora.node needs libraries outside the allow list: ${extra.join(', ')}`);
const symbols = [...tool('objdump', ['-T', addon]).matchAll(/GLIBC_(\d+)\.(\d+)(?:\.\d+)?\)?\s+(\S+)$/gm)].map((m) => ({ v: [Number(m[1]), Number(m[2])], name: m[3] }));
const newer = (a, b) => a[0] > b[0] || (a[0] === b[0] && a[1] > b[1]);
if (symbols.length === 0) fail('objdump -T listed no GLIBC symbols of tang_lora.node (an unknown objdump format?)');
const floor = GLIBC_MAX.split('.').map(Number);
const [gMaj, gMin] = symbols.reduce((a, s) => (newer(s.v, a) ? s.v : a), [2, 0]);
const glibc = `${gMaj}.${gMin}`;
const above = symbols.filter((s) => newer(s.v, floor)).map((s) => `${s.name}@GLIBC_${s.v.join('.')}`);
if (above.length) fail(`tang_lora.node needs GLIBC ${glibc}, above the floor ${GLIBC_MAX}: ${above.join(', ')}`);
let architectures = null;
if (cuda) {
  const list = (flag) => [...tool('cuobjdump', [flag, addon]).matchAll(/sm_(\d+)/g)].map((m) => Number(m[1]));
  const sass = [...new Set(list('--list-elf'))].sort((a, b) => a - b);
  const ptx = [...new Set(list('--list-ptx'))].sort((a, b) => a - b);
  if (variant.sass.some((a) => !sass.includes(a)) || !ptx.includes(variant.ptx)) {
    fail(`tang_lora.node holds SASS ${sass.join(',')} and PTX ${ptx.join(',')}; wanted SASS ${variant.sass.join(',')} and PTX ${variant.ptx}`);
  }
  architectures = { sass, ptx };
}
const info = writeBuildInfo(addon, args.variant, { cudaVersion: cuda ? cuda.major : null, architectures, glibc, neededLibraries: needed, ...(narrowed ? { narrowed: true } : {}) });

fs.writeFileSync(path.join(staging, 'package.json'), JSON.stringify({
  name,
  version: pkg.version,
  description: `tang-lora's prebuilt addon for linux-x64${cuda ? ` with CUDA ${cuda.major}` : ''} (an optional dependency of tang-lora)`,
  license: pkg.license,
  os: ['linux'],
  cpu: ['x64'],
  libc: ['glibc'],
  files: ['tang_lora.node', 'tang_probe.node', 'build-info.json'],
}, null, 2) + '\n');
fs.mkdirSync(args.out, { recursive: true });
const tgz = tool('npm', ['pack', staging, '--pack-destination', path.resolve(args.out), '--silent']).trim().split('\n').pop();
const size = fs.statSync(path.join(args.out, tgz)).size;
if (size > MAX_TARBALL) fail(`${tgz} is ${(size / 2 ** 20).toFixed(0)} MiB, over ${MAX_TARBALL >> 20} MiB`);
console.log(JSON.stringify({ package: name, tarball: path.join(args.out, tgz), sizeMiB: +(size / 2 ** 20).toFixed(1), ...info }));
