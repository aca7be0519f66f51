import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { writeTinyLlama } from './helpers/gguf-writer.js';
import { scratchDir } from './helpers/paths.js';
import { runCli } from './helpers/cli.js';

const dir = scratchDir('cli');
const cli = runCli;

test('tang-lora info prints the commit and devices', () => {
  const r = cli('info');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^llama\.cpp {2}[0-9a-f]{40}$/m);
  assert.match(r.stdout, /^device {5}CPU \(cpu\)/m);
});

test('tang-lora inspect --json prints the summary', () => {
  const file = path.join(dir, 'tiny.gguf');
  writeTinyLlama(file);
  const r = cli('inspect', file, '--json');
  assert.equal(r.status, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  assert.equal(s.architecture, 'llama');
  assert.equal(s.nLayer, 2);
});

test('tang-lora inspect on a bad file: one line on stderr, exit 1', () => {
  const file = path.join(dir, 'garbage.gguf');
  fs.writeFileSync(file, 'not a model at all, just text');
  const r = cli('inspect', file);
  assert.equal(r.status, 1);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^tang-lora: '.*garbage\.gguf' is not a GGUF file \(bad magic\)\n$/);
});

test('an unknown flag or command is a usage error, exit 2', () => {
  const r = cli('info', '--bogus');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /Unknown argument/);
  assert.equal(cli('frobnicate').status, 2);
});

test('tang-lora create-model writes a model that inspect reads; a bad type is one line, exit 2', () => {
  const file = path.join(dir, 'created.gguf');
  const r = cli('create-model', '--shape', 'tiny', '--type', 'q8_0', '--out', file, '--seed', '3');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /vocabulary 32000/);
  const s = JSON.parse(cli('inspect', file, '--json').stdout);
  assert.equal(s.nLayer, 2);
  assert.equal(s.tensorTypes.q8_0, 16);
  const bad = cli('create-model', '--type', 'q3_z', '--out', path.join(dir, 'bad.gguf'));
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^tang-lora: --type must be one of f32, .*, got 'q3_z'\n$/);
  assert.ok(!fs.existsSync(path.join(dir, 'bad.gguf')));
  const k = cli('create-model', '--type', 'q4_k', '--out', path.join(dir, 'k.gguf'));
  assert.equal(k.status, 1);
  assert.match(k.stderr, /type q4_K needs n_embd and n_ff to be multiples of 256/);
  assert.equal(cli('create-model', '--shape', 'huge', '--out', file).status, 2);
});

test('tang-lora quantize: f32 -> q8_0 through libllama; bad input is one line', async () => {
  const src = path.join(dir, 'to-quantize.gguf');
  assert.equal(cli('create-model', '--out', src, '--seed', '4').status, 0);
  const out = path.join(dir, 'quantized.gguf');
  const r = cli('quantize', src, out, '--type', 'q8_0');
  assert.equal(r.status, 0, r.stderr);
  const s = JSON.parse(cli('inspect', out, '--json').stdout);
  assert.deepEqual(s.tensorTypes, { f32: 5, q8_0: 16 });
  const { openTrainer } = await import('../lib/index.js');
  const t = await openTrainer(out, { rank: 2 }, { device: 'cpu' });
  assert.equal((await t.info()).hparams.nLayer, 2);
  await t.dispose();
  assert.equal(cli('quantize', src, out, '--type', 'q9_9').status, 2);
  const missing = cli('quantize', path.join(dir, 'none.gguf'), path.join(dir, 'never.gguf'));
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /^tang-lora: model file '.*none\.gguf' does not exist\n$/);
  assert.ok(!fs.existsSync(path.join(dir, 'never.gguf')));
});

test('tang-lora demo runs end to end (5 steps here; the full demo is measured, not timed in CI)', () => {
  const out = path.join(dir, 'demo');
  const r = cli('demo', '--steps', '5', '--out', out);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /step {3}5 {2}loss \d/);
  assert.match(r.stdout, /before: .*\n +after: .*\n +truth: /);
  assert.ok(fs.existsSync(path.join(out, 'run', 'adapter.gguf')));
  assert.equal(JSON.parse(fs.readFileSync(path.join(out, 'data', 'train.json'), 'utf8')).length, 16);
});
