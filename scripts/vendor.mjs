#!/usr/bin/env node
// Vendors the pinned llama.cpp tree into native/vendor/llama.cpp (git-ignored).
//
// Source: the npm package node-llama-cpp@3.21.1 ships llama.cpp as a git bundle
// (llama/gitRelease.bundle). We `npm pack` that exact tarball (no install of its
// dependencies), check its sha512 against the pin, clone the pinned commit out of the
// bundle (sparse: only what the build, the reference scripts and the vocabularies need),
// then apply native/patches/*.patch in name order.
//
// Idempotent: a stamp records the pin, the patch hashes and a hash of the resulting
// tree; when it matches, nothing is done. `--verify` recomputes the tree hash and fails
// if the checkout differs from the stamp (e.g. a hand edit in the vendor folder).
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const PIN = {
  package: 'node-llama-cpp',
  version: '3.21.1',
  integrity:
    'sha512-E3N0Ev2Va0wzydvXYFwM9Hvyo07PoWjt8T/9GMc43Cvt8YkV/NU/tYUgEMC1grTPv2o9PRjQi0G3Wb5P/awiMg==',
  bundle: 'package/llama/gitRelease.bundle',
  commit: '80fb11ac73e66d89eae2c6a91d8a77428fa733ed',
};

// Paths of the llama.cpp tree we check out (git sparse-checkout, non-cone patterns).
const SPARSE = [
  '/*',
  '!/*/',
  '/cmake/',
  '/ggml/',
  '/src/',
  '/include/',
  '/vendor/',
  '/licenses/',
  '/gguf-py/',
  '/models/ggml-vocab-llama-spm.gguf',
  '/models/ggml-vocab-llama-bpe.gguf',
  '/models/ggml-vocab-qwen2.gguf',
];

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const vendorRoot = path.join(root, 'native', 'vendor');
const treeDir = path.join(vendorRoot, 'llama.cpp');
const cacheDir = path.join(vendorRoot, '.cache');
const stampFile = path.join(vendorRoot, 'llama.cpp.stamp.json');
const patchDir = path.join(root, 'native', 'patches');

const run = (cmd, args, opts = {}) =>
  execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', ...opts }).trim();
const git = (...args) => run('git', ['-C', treeDir, '-c', 'advice.detachedHead=false', ...args]);
const sha256 = (buf) => createHash('sha256').update(buf).digest('hex');

function patches() {
  if (!fs.existsSync(patchDir)) return [];
  return fs
    .readdirSync(patchDir)
    .filter((f) => f.endsWith('.patch'))
    .sort()
    .map((name) => ({ name, sha256: sha256(fs.readFileSync(path.join(patchDir, name))) }));
}

// sha256 over every checked-out file (path, mode bit for executables, content), .git excluded.
function treeHash(dir) {
  const h = createHash('sha256');
  const walk = (rel) => {
    const entries = fs.readdirSync(path.join(dir, rel), { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (r === '.git') continue;
      if (e.isDirectory()) walk(r);
      else if (e.isSymbolicLink()) h.update(`L ${r} ${fs.readlinkSync(path.join(dir, r))}\n`);
      else {
        const full = path.join(dir, r);
        const exec = fs.statSync(full).mode & 0o111 ? 'x' : '-';
        h.update(`F ${r} ${exec} ${sha256(fs.readFileSync(full))}\n`);
      }
    }
  };
  walk('');
  return h.digest('hex');
}

function readStamp() {
  try {
    return JSON.parse(fs.readFileSync(stampFile, 'utf8'));
  } catch {
    return null;
  }
}

function wanted() {
  return { package: `${PIN.package}@${PIN.version}`, commit: PIN.commit, sparse: SPARSE, patches: patches() };
}

function upToDate(stamp) {
  const w = wanted();
  return (
    stamp &&
    fs.existsSync(path.join(treeDir, 'CMakeLists.txt')) &&
    JSON.stringify({ package: stamp.package, commit: stamp.commit, sparse: stamp.sparse, patches: stamp.patches }) ===
      JSON.stringify(w)
  );
}

function fetchTarball() {
  fs.mkdirSync(cacheDir, { recursive: true });
  const tgz = path.join(cacheDir, `${PIN.package}-${PIN.version}.tgz`);
  const expected = PIN.integrity.slice('sha512-'.length);
  const ok = () =>
    fs.existsSync(tgz) && createHash('sha512').update(fs.readFileSync(tgz)).digest('base64') === expected;
  if (!ok()) {
    console.log(`tang-lora: fetching ${PIN.package}@${PIN.version} from the npm registry`);
    run('npm', ['pack', `${PIN.package}@${PIN.version}`, '--pack-destination', cacheDir, '--silent'], {
      cwd: cacheDir,
    });
    if (!ok()) throw new Error(`${PIN.package}@${PIN.version} tarball does not match the pinned sha512 integrity`);
  }
  return tgz;
}

function checkout() {
  const tgz = fetchTarball();
  const tmp = fs.mkdtempSync(path.join(cacheDir, 'x-'));
  try {
    run('tar', ['xzf', tgz, '-C', tmp, PIN.bundle]);
    const bundle = path.join(tmp, PIN.bundle);
    fs.rmSync(treeDir, { recursive: true, force: true });
    run('git', ['clone', '--quiet', '--no-checkout', bundle, treeDir]);
    git('sparse-checkout', 'set', '--no-cone', ...SPARSE);
    git('checkout', '--quiet', '--detach', PIN.commit);
    if (git('rev-parse', 'HEAD') !== PIN.commit) throw new Error('vendored llama.cpp is not at the pinned commit');
    git('remote', 'remove', 'origin');
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  for (const p of patches()) {
    console.log(`tang-lora: applying ${p.name}`);
    run('git', ['-C', treeDir, 'apply', '--whitespace=nowarn', path.join(patchDir, p.name)]);
  }
  const stamp = { ...wanted(), tree: treeHash(treeDir) };
  fs.writeFileSync(stampFile + '.tmp', JSON.stringify(stamp, null, 2) + '\n');
  fs.renameSync(stampFile + '.tmp', stampFile);
  return stamp;
}

function main() {
  const verify = process.argv.includes('--verify');
  let stamp = readStamp();
  if (!upToDate(stamp)) {
    stamp = checkout();
    console.log(`tang-lora: llama.cpp ${PIN.commit.slice(0, 12)} vendored (tree ${stamp.tree.slice(0, 16)})`);
  }
  if (verify) {
    const now = treeHash(treeDir);
    if (now !== stamp.tree) throw new Error(`vendored tree hash ${now} differs from the stamp ${stamp.tree}`);
    console.log(`tang-lora: vendored tree verified (${now})`);
  }
}

try {
  main();
} catch (e) {
  console.error(`tang-lora vendor: ${e.message.split('\n')[0]}`);
  process.exit(1);
}
