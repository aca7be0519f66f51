import assert from 'node:assert/strict';
import { test } from 'node:test';
import { crc32c, EventWriter } from '../lib/train/tfevents.js';
import { scratchDir } from './helpers/paths.js';
import { readEvents } from './helpers/tfrecord.js';

test('CRC-32C matches the standard check value', () => {
  assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
});

test('event files parse as TFRecord with valid masked CRC-32C and carry the scalars', () => {
  const w = new EventWriter(scratchDir('tfevents'));
  w.scalars(20, { loss: 2.5, lr: 3e-4, grad_norm: 0.75 });
  w.scalars(40, { loss: 1.25, lr: 1.5e-4, grad_norm: Number.NaN });
  const ev = readEvents(w.file);
  assert.equal(ev.length, 3);
  assert.equal(ev[0]!.fileVersion, 'brain.Event:2');
  assert.equal(ev[1]!.step, 20);
  assert.deepEqual(ev[1]!.scalars, { loss: 2.5, lr: Math.fround(3e-4), grad_norm: 0.75 });
  assert.deepEqual(ev[2]!.scalars, { loss: 1.25, lr: Math.fround(1.5e-4) }, 'non-finite values are left out');
  assert.ok(Math.abs(ev[2]!.wallTime - Date.now() / 1000) < 60);
});
