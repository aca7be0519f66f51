// Which prebuilt variant the loader picks, from faked driver probes: no driver, CUDA 12.x and
// 13.x drivers, GPUs of compute capability 7.5, 8.0, 9.0 and 12.0, and a variant that fails to load.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { loadBestPrebuilt, type BuildInfo } from '../lib/native/loader.js';
import { chooseVariants, covers, type CudaProbe, type VariantInfo } from '../lib/native/variants.js';
import type { Binding } from '../lib/native/binding.js';
import { scratchDir } from './helpers/paths.js';

// what scripts/prebuild.mjs builds (its VARIANTS): SASS per architecture, PTX of the newest
const cpu: VariantInfo = { variant: 'cpu' };
const cuda12: VariantInfo = { variant: 'cuda12', cudaVersion: 12, architectures: { sass: [80, 86, 89, 90], ptx: [90] } };
const cuda13: VariantInfo = { variant: 'cuda13', cudaVersion: 13, architectures: { sass: [80, 86, 89, 90, 120], ptx: [120] } };
const all = [cpu, cuda12, cuda13];
const gpu = (driverVersion: number, ...ccs: [number, number][]): CudaProbe => ({ driverVersion, devices: ccs.map(([major, minor]) => ({ name: `GPU ${major}.${minor}`, major, minor })) });
const order = (installed: VariantInfo[], probe: CudaProbe | null, forced?: string) => chooseVariants(installed, probe, forced).map((c) => c.variant);

test('the newest CUDA variant the driver runs and whose code covers every GPU comes first, the CPU one last', () => {
  assert.deepEqual(order(all, null), ['cpu']);
  assert.match(chooseVariants(all, null)[0]!.why, /no NVIDIA driver/);
  assert.deepEqual(order(all, gpu(13000)), ['cpu'], 'a driver but no GPU');
  assert.deepEqual(order(all, gpu(13000, [9, 0])), ['cuda13', 'cuda12', 'cpu']);
  assert.deepEqual(order(all, gpu(12040, [9, 0])), ['cuda12', 'cpu'], 'a CUDA 12.4 driver cannot run CUDA 13 code');
  assert.match(chooseVariants(all, gpu(12040, [9, 0]))[0]!.why, /CUDA 12\.4 and GPU 9\.0 \(9\.0\)/);
  assert.deepEqual(order(all, gpu(13000, [8, 0])), ['cuda13', 'cuda12', 'cpu']);
  assert.deepEqual(order(all, gpu(13000, [8, 9])), ['cuda13', 'cuda12', 'cpu']);
  assert.deepEqual(order(all, gpu(13000, [12, 0])), ['cuda13', 'cuda12', 'cpu'], 'sm_120 SASS in cuda13, PTX 9.0 in cuda12');
  assert.deepEqual(order(all, gpu(12080, [12, 0])), ['cuda12', 'cpu']);
  const turing = chooseVariants(all, gpu(13000, [7, 5]));
  assert.deepEqual(turing.map((c) => c.variant), ['cpu'], 'no variant has code for 7.5');
  assert.match(turing[0]!.why, /cuda13: no code for GPU 7\.5 \(7\.5\); cuda12: no code for GPU 7\.5/);
  assert.deepEqual(order(all, gpu(13000, [9, 0], [7, 5])), ['cpu'], 'every GPU must be covered');
  assert.deepEqual(order([cpu, cuda13], gpu(12040, [9, 0])), ['cpu']);
  assert.deepEqual(order([cuda13], gpu(12040, [9, 0])), [], 'nothing runs: the loader says so');
});

test('TANG_LORA_VARIANT forces an installed variant; an uninstalled one is an error', () => {
  assert.deepEqual(order(all, null, 'cuda13'), ['cuda13']);
  assert.throws(() => order([cpu], null, 'cuda13'), /TANG_LORA_VARIANT=cuda13, but no such prebuilt is installed \(cpu\)/);
});

test('SASS runs on its own major architecture at a later minor; PTX on any later one', () => {
  const a = { sass: [80, 86], ptx: [90] };
  assert.ok(covers(a, 8, 0) && covers(a, 8, 9) && covers(a, 9, 0) && covers(a, 12, 0));
  assert.ok(!covers(a, 7, 5));
  assert.ok(!covers({ sass: [86], ptx: [] }, 8, 0) && !covers({ sass: [90], ptx: [] }, 12, 0));
});

test('a variant that fails to load falls back to the next with one warning naming the missing library', () => {
  const dir = scratchDir('variants');
  const packages = ['cuda13', 'cpu'].map((variant) => {
    const d = path.join(dir, variant);
    fs.mkdirSync(d);
    const info = { ...(variant === 'cpu' ? cpu : cuda13), cpuIsa: [] } as BuildInfo;
    return { dir: d, info };
  });
  const warnings: string[] = [];
  const fake = {} as Binding;
  const tryLoad = (file: string) => {
    if (file.includes('cuda13')) throw new Error(`tang-lora native addon at ${file} cannot be loaded: libcublas.so.13: cannot open shared object file: No such file or directory`);
    return fake;
  };
  const r = loadBestPrebuilt(packages, gpu(13000, [9, 0]), undefined, tryLoad, (l) => warnings.push(l));
  assert.equal(r.binding, fake);
  assert.equal(r.loaded.variant, 'cpu');
  assert.deepEqual(warnings, ['tang-lora: the cuda13 prebuilt cannot be loaded (libcublas.so.13 is not installed); using cpu']);
  assert.throws(() => loadBestPrebuilt(packages.slice(0, 1), gpu(12000, [9, 0]), undefined, tryLoad, () => {}), /no installed prebuilt of tang-lora \(cuda13\) runs on this machine/);
});
