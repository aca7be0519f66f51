import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { info, inspect } from '../lib/index.js';
import { cpuFlags } from '../lib/native/loader.js';
import { writeTinyLlama } from './helpers/gguf-writer.js';
import { expectCuda, repoRoot, scratchDir } from './helpers/paths.js';

const dir = scratchDir('system');

test('info() names the vendored commit, the CPU backend and its device', async () => {
  const stamp = JSON.parse(fs.readFileSync(path.join(repoRoot, 'native', 'vendor', 'llama.cpp.stamp.json'), 'utf8'));
  const s = await info();
  assert.equal(s.llamaCppCommit, stamp.commit);
  assert.ok(s.backends.includes('CPU'), `backends: ${s.backends}`);
  const cpu = s.devices.find((d) => d.type === 'cpu');
  assert.ok(cpu, 'a CPU device is listed');
  assert.ok(cpu.memoryTotal > 0 && cpu.memoryFree <= cpu.memoryTotal);
});

test('info() says which CPU extensions the backend uses and whether AMX kernels are, and why', async () => {
  const s = await info();
  const flags = cpuFlags();
  for (const f of s.cpu.isa) assert.ok(!flags || flags.has(f), `compiled for ${f}, which this CPU lacks`);
  if (s.cpu.extraBufferTypes.includes('AMX')) {
    assert.match(s.cpu.amx, /^in use/);
    assert.ok(!flags || (flags.has('amx_tile') && flags.has('amx_int8')), 'AMX kernels only where the CPU lists AMX');
  } else {
    assert.match(s.cpu.amx, /^not in use: \S/);
  }
});

test('info() lists the CUDA device when the CUDA variant is tested', { skip: !expectCuda }, async () => {
  const s = await info();
  assert.ok(s.backends.includes('CUDA'), `backends: ${s.backends}`);
  const gpu = s.devices.find((d) => d.backend === 'CUDA' && d.type === 'gpu');
  assert.ok(gpu, `devices: ${JSON.stringify(s.devices)}`);
  assert.ok(gpu.memoryTotal > 1 << 30, 'a real GPU has more than 1 GiB');
});

test('inspect() reads back what an independent GGUF writer wrote', async () => {
  const file = path.join(dir, 'tiny.gguf');
  const want = writeTinyLlama(file);
  const s = await inspect(file);
  assert.equal(s.architecture, 'llama');
  assert.equal(s.type, 'model');
  assert.equal(s.name, 'tiny-test');
  assert.equal(s.version, 3);
  assert.equal(s.nLayer, want.nLayer);
  assert.equal(s.nEmbd, want.nEmbd);
  assert.equal(s.nFf, want.nFf);
  assert.equal(s.nHead, 4);
  assert.equal(s.nHeadKv, 2);
  assert.equal(s.nCtxTrain, 256);
  assert.equal(s.nVocab, want.nVocab);
  assert.equal(s.nTensors, 6);
  assert.deepEqual(s.tensorTypes, { f16: 1, f32: 1, q8_0: 4 });
  assert.equal(s.nParams, 64 * 32 + 64 + 2 * (64 * 64 + 64 * 128));
  assert.equal(s.fileSize, fs.statSync(file).size);
});

// Each bad file: a rejected promise with one line naming the file; the process lives on.
const bad: Array<[string, (file: string) => void, RegExp]> = [
  ['empty', (f) => fs.writeFileSync(f, ''), /is empty, not a GGUF file/],
  ['garbage', (f) => fs.writeFileSync(f, Buffer.alloc(4096, 0x5a)), /is not a GGUF file \(bad magic\)/],
  ['tiny', (f) => fs.writeFileSync(f, 'GGUF'), /too short to be a GGUF file/],
  [
    'truncated-data',
    (f) => {
      writeTinyLlama(f);
      fs.truncateSync(f, fs.statSync(f).size - 100);
    },
    /is truncated: its tensors need \d+ bytes, the file has \d+/,
  ],
  [
    'truncated-header',
    (f) => {
      writeTinyLlama(f);
      fs.truncateSync(f, 200);
    },
    /is not a valid GGUF file/,
  ],
  [
    'bad-version',
    (f) => {
      writeTinyLlama(f);
      const b = fs.readFileSync(f);
      b.writeUInt32LE(999, 4);
      fs.writeFileSync(f, b);
    },
    /is not a valid GGUF file/,
  ],
];

for (const [name, make, re] of bad) {
  test(`inspect() rejects a ${name} file with one clear line`, async () => {
    const file = path.join(dir, `${name}.gguf`);
    make(file);
    await assert.rejects(inspect(file), (e: Error) => {
      assert.match(e.message, re);
      assert.ok(e.message.includes(file), 'the message names the file');
      assert.doesNotMatch(e.message, /\n/);
      return true;
    });
  });
}

test('inspect() rejects a missing path and a directory', async () => {
  await assert.rejects(inspect(path.join(dir, 'missing.gguf')), /does not exist/);
  await assert.rejects(inspect(dir), /is not a regular file/);
  await assert.rejects(inspect(''), /a model path is required/);
});
