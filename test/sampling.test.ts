// Generation through libllama with the reference's sampling knobs: the n-gram ban holds on a
// model that loops without it, sampling is reproducible for a seed, bad settings are errors.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import path from 'node:path';
import { openRunner, openTrainer, type Runner } from '../lib/index.js';
import { makeFixtureModel } from './helpers/fixture-models.js';
import { device, scratchDir } from './helpers/paths.js';

const dir = scratchDir('sampling');
const cycle = [1000, 2000, 3000, 4000];
const prompt = Int32Array.from([...cycle, ...cycle, ...cycle]);

/** An adapter trained on a repeating 4-token cycle, so that greedy decoding loops. */
async function loopingAdapter(model: string): Promise<string> {
  const file = path.join(dir, 'loop.gguf');
  const t = await openTrainer(model, { rank: 4, alpha: 8, dropout: 0 }, { device });
  const tokens = Int32Array.from({ length: 48 }, (_, i) => cycle[i % 4]!);
  for (let s = 0; s < 30; s++) {
    await t.trainMicroBatch({ rows: 1, tokens, labels: tokens, segments: new Int32Array(48) });
    await t.optimizerStep({ lr: 5e-2 });
  }
  await t.saveAdapter(file);
  await t.dispose();
  return file;
}

function repeatedNgram(seq: ArrayLike<number>, n: number): boolean {
  const seen = new Set<string>();
  for (let i = 0; i + n <= seq.length; i++) {
    const key = Array.from({ length: n }, (_, k) => seq[i + k]).join(',');
    if (seen.has(key)) return true;
    seen.add(key);
  }
  return false;
}

/** Whether the 3-gram ending at seq[end] occurred earlier in seq. */
function hasNgramBefore(seq: number[], end: number, n: number): boolean {
  const key = seq.slice(end - n + 1, end + 1).join(',');
  for (let i = 0; i + n <= end; i++) if (seq.slice(i, i + n).join(',') === key) return true;
  return false;
}

async function withRunner(f: (r: Runner) => Promise<void>, looping = false) {
  const model = await makeFixtureModel(dir, 'f32');
  const adapters = looping ? [{ path: await loopingAdapter(model) }] : [];
  const r = await openRunner(model, adapters, { device, nCtx: 256 });
  try {
    await f(r);
  } finally {
    await r.dispose();
  }
}

test('no output repeats a token 3-gram with no_repeat_ngram_size 3 (the model loops without it)', () =>
  withRunner(async (r) => {
    const loop = await r.generate(prompt, { temperature: 0, noRepeatNgramSize: 0, maxNewTokens: 60 });
    assert.ok(repeatedNgram(loop, 3), 'without the ban, greedy decoding loops');
    for (const opts of [{ temperature: 0 }, { temperature: 0.1, topP: 0.3, seed: 1 }, { temperature: 1.5, topP: 1, seed: 2 }]) {
      const out = await r.generate(prompt, { ...opts, noRepeatNgramSize: 3, maxNewTokens: 60 });
      assert.equal(out.length, 60);
      const seq = [...prompt, ...out];
      for (let i = 0; i < out.length; i++) {
        assert.ok(!hasNgramBefore(seq, prompt.length + i, 3), `output token ${i} repeats a 3-gram with ${JSON.stringify(opts)}`);
      }
    }
  }, true));

test('sampling with a fixed seed is reproducible; another seed differs', () =>
  withRunner(async (r) => {
    const opts = { temperature: 1.2, topP: 0.95, topK: 50, minP: 0.01, repeatPenalty: 1.1, maxNewTokens: 40 };
    const a = await r.generate(prompt, { ...opts, seed: 7 });
    const b = await r.generate(prompt, { ...opts, seed: 7 });
    const c = await r.generate(prompt, { ...opts, seed: 8 });
    assert.deepEqual([...a], [...b]);
    assert.notDeepEqual([...a], [...c]);
  }));

test('bad generation settings and an empty prompt are clear errors', () =>
  withRunner(async (r) => {
    await assert.rejects(r.generate(prompt, { maxNewTokens: 0 }), /max_new_tokens must be from 1 to the context size/);
    await assert.rejects(r.generate(prompt, { maxNewTokens: 1e9 }), /max_new_tokens must be from 1/);
    await assert.rejects(r.generate([], {}), /prompt 0 is empty/);
    await assert.rejects(r.generate(prompt, { topP: 0 }), /top_p must be in/);
    const ok = await r.generate(prompt, { maxNewTokens: 3 });
    assert.ok(ok.length <= 3);
  }));
