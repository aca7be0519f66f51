// The way in for a user without build tools: a platform package (built here by
// scripts/prebuild.mjs, minutes the first time; build/prebuild-<variant> is kept) and tang-lora's
// own tarball (npm pack), installed into a fresh project whose PATH has no compiler, CMake or
// git, timed with --offline. The install neither vendors nor compiles (no build/, no
// native/vendor/), and info, a 5-step train and generate on a create-model tiny model work from
// it. CPU machines test the CPU package; the GPU suite (TANG_LORA_EXPECT_CUDA=1) the cuda13 one,
// which the loader must pick by itself and train on CUDA with.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { device, expectCuda, repoRoot, scratchDir } from './helpers/paths.js';

const npmCli = process.env.npm_execpath?.endsWith('.js')
  ? process.env.npm_execpath
  : path.join(path.dirname(fs.realpathSync(execFileSync('which', ['npm'], { encoding: 'utf8' }).trim())), 'npm-cli.js');

const variant = expectCuda ? 'cuda13' : 'cpu';
const packageName = expectCuda ? '@tang-lora/linux-x64-cuda13' : '@tang-lora/linux-x64';
// npm's cache of the registry dependencies (yargs, cmake-js, ...): filled by a first online
// install, or given (TANG_LORA_TEST_NPM_CACHE) where no registry can be reached, as on the GPU machine.
const givenCache = process.env.TANG_LORA_TEST_NPM_CACHE;
const skip = expectCuda && !givenCache && 'the GPU machine reaches no registry: TANG_LORA_TEST_NPM_CACHE names a filled npm cache';

test(`an --offline install of the ${variant} prebuilt needs no build tools and works`, { timeout: 60 * 60 * 1000, skip }, (t) => {
  const out = scratchDir('prebuilt');
  const built = spawnSync(process.execPath, [path.join(repoRoot, 'scripts', 'prebuild.mjs'), '--variant', variant, '--out', out], { cwd: repoRoot, encoding: 'utf8' });
  assert.equal(built.status, 0, built.stderr.slice(-2000));
  const pkg = JSON.parse(built.stdout.trim().split('\n').pop()!);
  assert.equal(pkg.package, packageName);
  t.diagnostic(`${packageName}: ${pkg.sizeMiB} MiB, GLIBC ${pkg.glibc}, needs ${pkg.neededLibraries.join(' ')}, CPU ${pkg.cpuIsa.join(' ')}` +
    (pkg.architectures ? `, SASS ${pkg.architectures.sass.join(' ')}, PTX ${pkg.architectures.ptx.join(' ')}` : ''));
  assert.ok(!pkg.cpuIsa.some((f: string) => f.startsWith('avx512')), 'a portable build: no AVX-512');
  const packed = spawnSync(process.execPath, [npmCli, 'pack', '--pack-destination', out, '--silent'], { cwd: repoRoot, encoding: 'utf8' });
  assert.equal(packed.status, 0, packed.stderr.slice(-2000));
  const main = path.join(out, packed.stdout.trim().split('\n').pop()!);

  // a PATH with node and sh only
  const bin = path.join(out, 'bin');
  fs.mkdirSync(bin);
  fs.symlinkSync(process.execPath, path.join(bin, 'node'));
  fs.symlinkSync(fs.realpathSync('/bin/sh'), path.join(bin, 'sh'));
  const env = { ...process.env, PATH: bin, npm_config_update_notifier: 'false' };
  for (const tool of ['cc', 'gcc', 'g++', 'cmake', 'git', 'make']) assert.notEqual(spawnSync('sh', ['-c', `command -v ${tool}`], { env }).status, 0, tool);
  const proj = path.join(out, 'project');
  fs.mkdirSync(proj);
  fs.writeFileSync(path.join(proj, 'package.json'), JSON.stringify({ name: 'user-project', version: '1.0.0', private: true }));
  const cache = givenCache ? ['--cache', path.resolve(givenCache)] : [];
  const install = (...flags: string[]) =>
    spawnSync(process.execPath, [npmCli, 'install', ...flags, ...cache, '--no-audit', '--no-fund', main, pkg.tarball], { cwd: proj, env, encoding: 'utf8' });
  if (!givenCache) {
    const warm = install();
    assert.equal(warm.status, 0, `${warm.stdout}\n${warm.stderr}`.slice(-3000));
    fs.rmSync(path.join(proj, 'node_modules'), { recursive: true });
    fs.rmSync(path.join(proj, 'package-lock.json'));
  }
  const t0 = Date.now();
  const inst = install('--offline');
  const seconds = (Date.now() - t0) / 1000;
  assert.equal(inst.status, 0, `${inst.stdout}\n${inst.stderr}`.slice(-3000));
  t.diagnostic(`npm install --offline of the two tarballs: ${seconds.toFixed(1)} s`);
  assert.ok(seconds < 60, `install took ${seconds} s`);
  const installed = path.join(proj, 'node_modules', 'tang-lora');
  assert.ok(!fs.existsSync(path.join(installed, 'build')) && !fs.existsSync(path.join(installed, 'native', 'vendor')), 'nothing vendored or compiled');

  const tl = (...args: string[]) => spawnSync(path.join(proj, 'node_modules', '.bin', 'tang-lora'), args, { cwd: proj, env, encoding: 'utf8' });
  const info = tl('info');
  assert.equal(info.status, 0, info.stderr);
  const picked = expectCuda ? /cuda13: a driver for CUDA 1[3-9]/ : /cpu: (no NVIDIA driver|no NVIDIA GPU)/;
  assert.match(info.stdout, new RegExp(`^addon +.*node_modules/${packageName}/tang_lora\\.node \\(${picked.source}`, 'm'));
  assert.equal(tl('create-model', '--out', 'tiny.gguf').status, 0);
  const train = tl('train', '--model', 'tiny.gguf', '--data', path.join(repoRoot, 'test', 'data', 'tang-32.json'), '--out', 'run', '--device', device, '--max-steps', '5', '--micro-batch-size', '2', '--grad-accum', '1');
  assert.equal(train.status, 0, train.stderr);
  assert.match(train.stdout, /tang-lora: 5 steps/);
  t.diagnostic(`npm install, info, create-model and a 5-step train: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const gen = tl('generate', '--model', 'tiny.gguf', '--lora', path.join('run', 'adapter.gguf'), '--prompt', '白日依山盡,黃河入海流。', '--max-new-tokens', '4');
  assert.equal(gen.status, 0, gen.stderr);
  assert.ok(gen.stdout.trim().length > 0);
});
