import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { addon, addonCandidates, cpuFlags, loadAddonFrom, missingCpuFeatures, readBuildInfo } from '../lib/native/loader.js';
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
    assert.match(e.message, /native addon not found at .*nope\.node; run `npx tang-lora build`/);
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

test("this CPU's flags are read as the kernel lists them, and the missing ones named", () => {
  const file = path.join(scratchDir('loader'), 'cpuinfo');
  fs.writeFileSync(file, 'processor\t: 0\nflags\t\t: fpu sse2 avx avx2 fma\n\nprocessor\t: 1\nflags\t\t: fpu sse2 avx avx2 fma\n');
  const flags = cpuFlags(file);
  assert.deepEqual([...flags!].sort(), ['avx', 'avx2', 'fma', 'fpu', 'sse2']);
  assert.deepEqual(missingCpuFeatures(['avx2', 'avx512f', 'fma', 'avx512_vnni'], flags), ['avx512f', 'avx512_vnni']);
  assert.deepEqual(missingCpuFeatures(['avx512f'], undefined), [], 'no check where the flags are unknown');
  assert.equal(cpuFlags(path.join(path.dirname(file), 'none')), undefined);
});

test('the built addon needs only CPU extensions this machine has, as its build-info.json says', (t) => {
  const file = addonCandidates().find((f) => fs.existsSync(f))!;
  const info = readBuildInfo(file);
  assert.ok(info, `build-info.json beside ${file}`);
  assert.deepEqual(info.cpuIsa, addon().build.cpuIsa.split(' ').filter(Boolean), 'the file says what the addon reports');
  t.diagnostic(`compiled for: ${info.cpuIsa.join(' ')}`);
  assert.deepEqual(missingCpuFeatures(info.cpuIsa, cpuFlags()), []);
});

test('an addon compiled for CPU extensions this machine lacks is refused before it is loaded', () => {
  const dir = scratchDir('loader');
  const file = path.join(dir, 'tang_lora.node');
  fs.writeFileSync(file, Buffer.from('not a shared object: loading it would fail differently'));
  fs.writeFileSync(path.join(dir, 'build-info.json'), JSON.stringify({ variant: 'cpu', cpuIsa: ['avx2', 'no_such_extension'] }));
  assert.throws(() => loadAddonFrom(file), (e: Error) => {
    assert.match(e.message, /was compiled for CPU extensions this machine lacks \(no_such_extension\); rebuild it here/);
    assert.doesNotMatch(e.message, /\n/);
    return true;
  });
});
