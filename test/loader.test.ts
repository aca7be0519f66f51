import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { addon, addonCandidates, loadAddonFrom } from '../lib/native/binding.js';
import { scratchDir } from './helpers/paths.js';

test('the built addon loads and exposes the typed surface', () => {
  const b = addon();
  assert.equal(typeof b.info, 'function');
  assert.equal(typeof b.inspect, 'function');
  assert.equal(b.build.napiVersion, 8);
});

test('a missing addon is one clear sentence', () => {
  const missing = path.join(scratchDir('loader'), 'nope.node');
  assert.throws(() => loadAddonFrom(missing), (e: Error) => {
    assert.match(e.message, /native addon not found at .*nope\.node; run `npm install`/);
    assert.doesNotMatch(e.message, /\n/);
    return true;
  });
});

test('an addon built for another platform is refused with one clear sentence', () => {
  const bogus = path.join(scratchDir('loader'), 'bogus.node');
  fs.writeFileSync(bogus, Buffer.from('\x7fELF but not really a shared object for this machine'));
  assert.throws(() => loadAddonFrom(bogus), (e: Error) => {
    assert.match(e.message, /cannot be loaded on this .* \(built for another platform or Node ABI\?\)/);
    assert.doesNotMatch(e.message, /\n/);
    return true;
  });
});

test('TANG_LORA_ADDON overrides where the addon is looked for', () => {
  const saved = process.env.TANG_LORA_ADDON;
  process.env.TANG_LORA_ADDON = '/somewhere/else.node';
  try {
    assert.deepEqual(addonCandidates(), ['/somewhere/else.node']);
  } finally {
    if (saved === undefined) delete process.env.TANG_LORA_ADDON;
    else process.env.TANG_LORA_ADDON = saved;
  }
});
