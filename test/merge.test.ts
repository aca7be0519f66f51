// merge: a base with an adapter folded in, held to libllama applying the same adapter at run
// time (the reference): equal logits and the same greedy poems for an f32 base, within the
// quantization's tolerance for q8_0; the Modelfile's fields; refusals of what does not fit.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { generatePoems, mergeAdapter, openRunner } from '../lib/index.js';
import { relError } from './helpers/hf-fixture.js';
import { foreignAdapter, makeFixtureModel, type FixtureType } from './helpers/fixture-models.js';
import { repoRoot, scratchDir } from './helpers/paths.js';
import { assertFails, runCli } from './helpers/cli.js';

const dir = scratchDir('merge');
const data = path.join(repoRoot, 'test', 'data', 'tang-32.json');
const records = (JSON.parse(fs.readFileSync(path.join(repoRoot, 'test', 'data', 'tang-test-15.json'), 'utf8')) as { instruction: string; input: string }[]).slice(0, 3);
const ids = [1, 415, 3479, 9060, 28725, 13, 29871, 1526];

const cosine = (a: Float32Array, b: Float32Array) => {
  let [ab, aa, bb] = [0, 0, 0];
  for (let i = 0; i < a.length; i++) [ab, aa, bb] = [ab + a[i]! * b[i]!, aa + a[i]! * a[i]!, bb + b[i]! * b[i]!];
  return ab / Math.sqrt(aa * bb);
};

async function logits(model: string, adapters: { path: string; scale?: number }[] = []): Promise<Float32Array> {
  const runner = await openRunner(model, adapters, { device: 'cpu', nCtx: 64 });
  try {
    return await runner.logits(ids);
  } finally {
    await runner.dispose();
  }
}

/** A fixture base and an adapter trained on it (B no longer zero). */
async function trained(type: FixtureType) {
  const model = await makeFixtureModel(dir, type);
  const run = path.join(dir, `run-${type}`);
  const r = runCli('train', '--model', model, '--data', data, '--out', run, '--device', 'cpu', '--max-steps', '4', '--micro-batch-size', '2',
    '--grad-accum', '1', '--lr', '5e-2', '--warmup-steps', '0', '--lora-dropout', '0', '--overwrite');
  assert.equal(r.status, 0, r.stderr);
  return { model, adapter: path.join(run, 'adapter.gguf') };
}

test('an f32 base merged with an adapter gives libllama\'s logits and greedy poems with the adapter applied', async (t) => {
  const { model, adapter } = await trained('f32');
  for (const scale of [1, 0.5]) {
    const out = path.join(dir, `merged-${scale}.gguf`);
    await mergeAdapter(model, [{ path: adapter, scale }], out);
    const err = relError(await logits(out), await logits(model, [{ path: adapter, scale }]));
    t.diagnostic(`scale ${scale}: max |logit difference| / max |logit| = ${err.toExponential(2)}`);
    assert.ok(err < 1e-5, String(err));
    assert.ok(relError(await logits(out), await logits(model)) > 1e-3, 'the merge changed the model');
  }
  const greedy = { device: 'cpu', temperature: 0, noRepeatNgramSize: 0, maxNewTokens: 24 };
  const merged = await generatePoems(records, { model: path.join(dir, 'merged-1.gguf'), ...greedy });
  const applied = await generatePoems(records, { model, adapters: [{ path: adapter }], ...greedy });
  assert.deepEqual(merged.map((r) => r.output), applied.map((r) => r.output));
});

test('merge --type q8_0 and a q8_0 base merged as q8_0 stay within the quantization tolerance; --ollama writes a Modelfile', async (t) => {
  const { model, adapter } = await trained('f32');
  const out = path.join(dir, 'ollama', 'merged-q8_0.gguf');
  const r = runCli('merge', '--model', model, '--lora', adapter, '--out', out, '--type', 'q8_0', '--ollama');
  assert.equal(r.status, 0, r.stderr);
  // q8_0 of the merged weights (the adapter's delta quantized too) against the f32 base with the adapter
  const c = cosine(await logits(out), await logits(model, [{ path: adapter }]));
  t.diagnostic(`--type q8_0: cosine ${c.toFixed(5)}`);
  assert.ok(c > 0.995, String(c));
  const mf = fs.readFileSync(path.join(dir, 'ollama', 'Modelfile'), 'utf8').split('\n');
  assert.equal(mf[0], 'FROM ./merged-q8_0.gguf');
  assert.match(mf.join('\n'), /^TEMPLATE """\[INST\] <<SYS>>\n.*\n<<\/SYS>>\n以下是一首唐詩的第一句話,請用你的知識判斷並完成整首詩。\n\{\{ \.Prompt \}\}\n\[\/INST\]"""$/m);
  for (const p of ['PARAMETER stop "</s>"', 'PARAMETER temperature 0.1', 'PARAMETER top_p 0.3', 'PARAMETER num_predict 128']) assert.ok(mf.includes(p), p);

  const q = await trained('q8_0');
  const kept = path.join(dir, 'merged-keep-q8_0.gguf');
  await mergeAdapter(q.model, [{ path: q.adapter }], kept);
  const ck = cosine(await logits(kept), await logits(q.model, [{ path: q.adapter }]));
  t.diagnostic(`q8_0 base kept q8_0: cosine ${ck.toFixed(5)}`);
  assert.ok(ck > 0.995, String(ck));
});

test('merge refuses what does not fit in one line, exit 1, and leaves no file', async () => {
  const { model, adapter } = await trained('f32');
  const out = path.join(dir, 'never.gguf');
  for (const [args, re] of [
    [['--model', model, '--out', out], /needs at least one --lora adapter/],
    [['--model', model, '--lora', await foreignAdapter(dir), '--out', out], /do not fit its shape .*another base/],
    [['--model', model, '--lora', path.join(dir, 'missing.gguf'), '--out', out], /missing\.gguf/],
    [['--model', model, '--lora', `${adapter}:1000`, '--out', out], /adapter scale must be a number from -100 to 100/],
    [['--model', model, '--lora', adapter, '--out', model], /which this command reads/],
  ] as [string[], RegExp][]) {
    assertFails(runCli('merge', ...args), 1, re, args.join(' '));
    assert.ok(!fs.readdirSync(dir).some((f) => f.startsWith('never.gguf')), 'no output left');
  }
});
