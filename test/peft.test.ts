// export/import of peft adapter folders. The reference: peft's LoRA (W x + alpha/r B A x) in a
// float64 forward pass with Hugging Face's semantics on the checkpoint's weights and the exported
// factors, against libllama on the converted GGUF with the GGUF adapter; q and k rows go back to
// the checkpoint's order on export, so an error there shows. import(export(a)) is a bit for bit.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { convertHf, importPeft, openRunner } from '../lib/index.js';
import { readGguf, readGgufFloats } from '../lib/hf/gguf-read.js';
import { readSafetensorsHeader, readTensorBytes, writeSafetensors } from '../lib/hf/safetensors.js';
import { hfForward, makeHfFolder, relError, tiny, type PeftLora } from './helpers/hf-fixture.js';
import { repoRoot, scratchDir } from './helpers/paths.js';
import { assertFails, runCli } from './helpers/cli.js';

const dir = scratchDir('peft');
const data = path.join(repoRoot, 'test', 'data', 'tang-32.json');
const ids = [1, 415, 3479, 9060, 28725, 13, 29871, 1526];

async function logits(model: string, adapter?: string): Promise<Float32Array> {
  const runner = await openRunner(model, adapter ? [{ path: adapter }] : [], { device: 'cpu', nCtx: 64 });
  try {
    return await runner.logits(ids);
  } finally {
    await runner.dispose();
  }
}

/** A converted tiny checkpoint and an adapter trained on it (lora_B no longer zero). */
async function trainedAdapter(name: string) {
  const { folder, w } = makeHfFolder(dir, name, tiny);
  const base = path.join(dir, `${name}.gguf`);
  await convertHf(folder, base, { type: 'f32' });
  const run = path.join(dir, `${name}-run`);
  const r = runCli('train', '--model', base, '--data', data, '--out', run, '--device', 'cpu', '--max-steps', '4', '--micro-batch-size', '2',
    '--grad-accum', '1', '--lr', '5e-2', '--warmup-steps', '0', '--lora-r', '4', '--lora-alpha', '8', '--lora-dropout', '0');
  assert.equal(r.status, 0, r.stderr);
  return { folder, w, base, adapter: path.join(run, 'adapter.gguf') };
}

test("export: peft's LoRA on the Hugging Face weights gives libllama's logits with the GGUF adapter", async (t) => {
  const { folder, w, base, adapter } = await trainedAdapter('export');
  const peft = path.join(dir, 'peft');
  const r = runCli('export', '--lora', adapter, '--base', folder, '--format', 'peft', '--out', peft);
  assert.equal(r.status, 0, r.stderr);
  const cfg = JSON.parse(fs.readFileSync(path.join(peft, 'adapter_config.json'), 'utf8'));
  assert.equal(cfg.peft_type, 'LORA');
  assert.equal(cfg.r, 4);
  assert.equal(cfg.lora_alpha, 8);
  assert.deepEqual(cfg.target_modules, ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj']);
  const lora: PeftLora = { scale: cfg.lora_alpha / cfg.r, A: new Map(), B: new Map() };
  const tensors = readSafetensorsHeader(path.join(peft, 'adapter_model.safetensors'));
  assert.equal(tensors.length, 2 * 7 * tiny.nLayer);
  for (const s of tensors) {
    const m = /^base_model\.model\.(model\.layers\.\d+\.\w+\.\w+)\.lora_(A|B)\.weight$/.exec(s.name);
    assert.ok(m, s.name);
    assert.equal(s.shape[m[2] === 'A' ? 0 : 1], 4, `${s.name}: rank 4 on the right side`);
    const v = Float64Array.from(new Float32Array(readTensorBytes(s).buffer.slice(0)));
    (m[2] === 'A' ? lora.A : lora.B).set(m[1]!, v);
  }
  const ours = await logits(base, adapter);
  const err = relError(ours, hfForward(w, tiny, ids, lora));
  t.diagnostic(`max |logit difference| / max |logit| = ${err.toExponential(2)}`);
  assert.ok(err < 1e-4, String(err));
  assert.ok(relError(ours, hfForward(w, tiny, ids)) > 1e-3, 'the adapter changes the logits');
});

test('import(export(a)) is a, bit for bit, and libllama gives the same logits', async () => {
  const { base, adapter } = await trainedAdapter('roundtrip');
  const peft = path.join(dir, 'peft-roundtrip');
  assert.equal(runCli('export', '--lora', adapter, '--base', base, '--out', peft).status, 0);
  const back = path.join(dir, 'back.gguf');
  const r = runCli('import', '--peft', peft, '--base', base, '--out', back);
  assert.equal(r.status, 0, r.stderr);
  const [a, b] = [readGguf(adapter), readGguf(back)];
  assert.equal(b.meta.get('adapter.lora.alpha'), a.meta.get('adapter.lora.alpha'));
  assert.equal(b.meta.get('general.architecture'), a.meta.get('general.architecture'));
  assert.deepEqual(b.tensors.map((t) => t.name).sort(), a.tensors.map((t) => t.name).sort());
  for (const t of a.tensors) {
    const u = b.tensors.find((x) => x.name === t.name)!;
    assert.deepEqual(u.dims, t.dims, t.name);
    assert.ok(Buffer.from(readGgufFloats(a, t).buffer).equals(Buffer.from(readGgufFloats(b, u).buffer)), `${t.name} bit for bit`);
  }
  assert.deepEqual(await logits(base, back), await logits(base, adapter));
});

test('an adapter or peft folder that does not fit is one line, exit 1, no file left', async () => {
  const { folder, base, adapter } = await trainedAdapter('bad');
  const qwen = makeHfFolder(dir, 'qwen', { ...tiny, arch: 'Qwen2ForCausalLM' }).folder;
  const wide = path.join(dir, 'wide.gguf');
  await convertHf(makeHfFolder(dir, 'wide', { ...tiny, nEmbd: 128 }).folder, wide, { type: 'f32' });
  const peft = path.join(dir, 'peft-bad');
  assert.equal(runCli('export', '--lora', adapter, '--base', folder, '--out', peft).status, 0);
  const cfgFile = path.join(peft, 'adapter_config.json');
  const out = path.join(dir, 'never');
  const noFile = () => assert.ok(!fs.existsSync(out) && !fs.readdirSync(dir).some((f) => f.startsWith('never')), 'no output left');
  for (const [args, re] of [
    [['export', '--lora', base, '--base', folder, '--out', out], /is not a GGUF LoRA adapter/],
    [['export', '--lora', adapter, '--base', qwen, '--out', out], /an adapter for a llama model, the base is qwen2/],
    [['export', '--lora', adapter, '--base', wide, '--out', out], /does not fit the base's attn_q \(another base\?\)/],
    [['import', '--peft', path.join(dir, 'no-such'), '--base', base, '--out', out], /is not a folder/],
    [['import', '--peft', peft, '--base', wide, '--out', out], /does not fit the base/],
  ] as [string[], RegExp][]) {
    assertFails(runCli(...(args as [string, ...string[]])), 1, re, args.join(' '));
    noFile();
  }
  const cfg = JSON.parse(fs.readFileSync(cfgFile, 'utf8'));
  fs.writeFileSync(cfgFile, JSON.stringify({ ...cfg, r: 8 }));
  assertFails(runCli('import', '--peft', peft, '--base', base, '--out', out), 1, /has rank 4, adapter_config\.json says r = 8/);
  noFile();
  fs.writeFileSync(cfgFile, JSON.stringify(cfg));
  fs.truncateSync(path.join(peft, 'adapter_model.safetensors'), 12);
  assertFails(runCli('import', '--peft', peft, '--base', base, '--out', out), 1, /not a safetensors file/);
  noFile();
  await assert.rejects(importPeft(peft, folder, out), /must be the GGUF base model/);
  // found by a hostile review: a lone factor, per-module patterns and the base as the output were taken
  assert.equal(runCli('export', '--lora', adapter, '--base', base, '--out', peft).status, 0);
  fs.writeFileSync(cfgFile, JSON.stringify({ ...cfg, alpha_pattern: { q_proj: 32 } }));
  assertFails(runCli('import', '--peft', peft, '--base', base, '--out', out), 1, /per-module alpha_pattern is not imported/);
  fs.writeFileSync(cfgFile, JSON.stringify(cfg));
  const before = fs.readFileSync(base);
  assertFails(runCli('import', '--peft', peft, '--base', base, '--out', base), 1, /which this command reads/);
  assert.ok(fs.readFileSync(base).equals(before), 'the base is untouched');
  const st = path.join(peft, 'adapter_model.safetensors');
  const onlyB = readSafetensorsHeader(st).filter((t) => t.name.includes('lora_B'));
  writeSafetensors(st, onlyB.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, data: readTensorBytes(t) })));
  assertFails(runCli('import', '--peft', peft, '--base', base, '--out', out), 1, /has lora_b without its other factor/);
  noFile();
});
