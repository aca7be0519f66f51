// The reference prompt template, tokenized samples (prompt masked, EOS appended, cut) and packing.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { chatmlPrompt, llama2Prompt, promptTemplate } from '../lib/data/template.js';
import { createModel, openRunner, openTokenizer } from '../lib/index.js';
import { packBatches, tokenizeSample, type Sample } from '../lib/train/samples.js';
import { countTargets } from '../lib/index.js';
import { makeFixtureModel } from './helpers/fixture-models.js';
import { repoRoot, scratchDir } from './helpers/paths.js';

const record = JSON.parse(fs.readFileSync(path.join(repoRoot, 'test', 'data', 'tang-32.json'), 'utf8'))[0];

test('the prompt is the reference Llama-2 template, to the character', () => {
  assert.equal(
    llama2Prompt(record),
    '[INST] <<SYS>>\nYou are a helpful assistant and good at writing Tang poem. 你是一个乐于助人的助手且擅长写唐诗。\n<</SYS>>\n' +
      '以下是一首唐詩的第一句話,請用你的知識判斷並完成整首詩。\n秦川雄帝宅,函谷壯皇居。\n[/INST]',
  );
  assert.equal(promptTemplate('llama2').trainingText(record), `${llama2Prompt(record)} ${record.output}`);
});

test('chatml, and the model template through libllama: a ChatML chat template renders as our chatml', async () => {
  assert.equal(
    chatmlPrompt(record),
    '<|im_start|>system\nYou are a helpful assistant and good at writing Tang poem. 你是一个乐于助人的助手且擅长写唐诗。<|im_end|>\n' +
      '<|im_start|>user\n以下是一首唐詩的第一句話,請用你的知識判斷並完成整首詩。\n秦川雄帝宅,函谷壯皇居。<|im_end|>\n<|im_start|>assistant\n',
  );
  const dir = scratchDir('template');
  const chatml =
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}" +
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
  const file = path.join(dir, 'chatml.gguf');
  await createModel(file, { shape: 'tiny', chatTemplate: chatml });
  const withTemplate = await openTokenizer(file);
  const without = await openTokenizer(await makeFixtureModel(dir, 'f32'));
  try {
    assert.equal(promptTemplate('model', withTemplate).prompt(record), chatmlPrompt(record));
    assert.throws(() => promptTemplate('model', without), /has no chat template/);
  } finally {
    await withTemplate.dispose();
    await without.dispose();
  }
});

test('a tokenized sample masks the prompt, ends with EOS and is cut at cutoffLen', async () => {
  const runner = await openRunner(await makeFixtureModel(scratchDir('samples'), 'f32'), [], { device: 'cpu' });
  try {
    const prompt = await runner.tokenize(llama2Prompt(record), { addSpecial: true });
    const s = await tokenizeSample(runner, record);
    assert.equal(s.tokens[0], 1, 'BOS first');
    assert.equal(s.tokens.at(-1), runner.eos, 'EOS last');
    assert.deepEqual(s.tokens.slice(0, prompt.length), [...prompt]);
    assert.ok(s.labels.slice(0, prompt.length).every((l) => l === -100));
    assert.deepEqual(s.labels.slice(prompt.length), s.tokens.slice(prompt.length));
    assert.equal((await runner.detokenize(s.tokens.slice(prompt.length, -1))).trim(), record.output);
    const cut = await tokenizeSample(runner, record, { cutoffLen: 50 });
    assert.equal(cut.tokens.length, 50);
    const all = await tokenizeSample(runner, record, { trainOnPrompt: true });
    assert.deepEqual(all.labels, all.tokens);
  } finally {
    await runner.dispose();
  }
});

test('packing fills rows first-fit, keeps samples whole, marks segments and pads', () => {
  const mk = (n: number, v: number): Sample => ({ tokens: Array(n).fill(v), labels: Array(n).fill(v) });
  const batches = packBatches([mk(6, 1), mk(5, 2), mk(3, 3), mk(4, 4)], { rowLen: 10, rows: 2, pad: 0 });
  // rows: [6 + 3], [5 + 4] -> one batch of 2 rows of 9 tokens
  assert.equal(batches.length, 1);
  const b = batches[0]!;
  assert.equal(b.rows, 2);
  assert.deepEqual([...b.tokens], [1, 1, 1, 1, 1, 1, 3, 3, 3, 2, 2, 2, 2, 2, 4, 4, 4, 4]);
  assert.deepEqual([...b.segments], [0, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 1, 1, 1, 1]);
  const padded = packBatches([mk(6, 1), mk(2, 2)], { rowLen: 7, rows: 2, pad: 9 })[0]!;
  assert.deepEqual([...padded.tokens], [1, 1, 1, 1, 1, 1, 2, 2, 9, 9, 9, 9]);
  assert.deepEqual([...padded.labels], [1, 1, 1, 1, 1, 1, -100, -100, -100, -100, -100, -100].map((x, i) => (i >= 6 && i < 8 ? 2 : x)));
  assert.deepEqual([...padded.segments], [0, 0, 0, 0, 0, 0, 0, 0, -1, -1, -1, -1]);
  assert.throws(() => packBatches([mk(11, 1)], { rowLen: 10, rows: 1, pad: 0 }), /exceeds the row length 10/);
  const unpacked = packBatches([mk(3, 1), mk(2, 2)], { rowLen: 4, rows: 2, pad: 0, packing: false })[0]!;
  assert.deepEqual([...unpacked.tokens], [1, 1, 1, 0, 2, 2, 0, 0]);
  assert.deepEqual([...unpacked.segments], [0, 0, 0, -1, 0, 0, -1, -1]);
  assert.equal(countTargets(unpacked), 2 + 1);
});
