import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { writeTinyLlama } from './helpers/gguf-writer.js';
import { cliPath, scratchDir } from './helpers/paths.js';

const dir = scratchDir('cli');
const cli = (...args: string[]) => spawnSync(process.execPath, [cliPath, ...args], { encoding: 'utf8' });

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
