// `convert`, `import` and `export` against what transformers, peft and Hugging Face's tokenizers
// library made on the GPU machine (test/reference/make_hf_fixtures.py, fixtures/hf/): the
// checkpoints as save_pretrained wrote them, rebuilt here byte for byte from the same weights
// (sha256 of each file); transformers' float32 logits; a LoRA that peft saved and the logits of
// PeftModel.from_pretrained with it; and the tokenizers library's ids.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { convertHf, openRunner, openTokenizer } from '../lib/index.js';
import { writeGguf } from '../lib/hf/gguf-write.js';
import { readSafetensorsHeader, readTensorBytes } from '../lib/hf/safetensors.js';
import { convertTokenizer } from '../lib/hf/tokenizer.js';
import { encode, makeHfFolder, referenceShapes, relError, tokenizerDir } from './helpers/hf-fixture.js';
import { repoRoot, scratchDir } from './helpers/paths.js';
import { runCli } from './helpers/cli.js';

type SavedFile = { text: string } | { header: string; size: number; sha256: string };
interface Fixture {
  columnStride: number;
  ids: number[];
  checkpoints: Record<string, { files: Record<string, SavedFile>; logits: number[][] }>;
  peftLogits: number[][];
  tokenizers: Record<'llama2' | 'llama3', { text: string; ids: number[] }[]>;
}
const fixtures = path.join(repoRoot, 'test', 'reference', 'fixtures', 'hf');
const fx = JSON.parse(fs.readFileSync(path.join(fixtures, 'hf.json'), 'utf8')) as Fixture;
const dir = scratchDir('hf-reference');

/** The checkpoint as save_pretrained wrote it: its JSON files, and each safetensors file from its header and our weights. */
function savedFolder(name: string): string {
  const { folder, w } = makeHfFolder(dir, name, referenceShapes[name]!);
  const saved = path.join(dir, `${name}-saved`);
  fs.mkdirSync(saved);
  for (const [file, f] of Object.entries(fx.checkpoints[name]!.files)) {
    if ('text' in f) {
      fs.writeFileSync(path.join(saved, file), f.text);
      continue;
    }
    const header = Buffer.from(f.header, 'utf8');
    const bytes = Buffer.alloc(f.size);
    bytes.writeBigUInt64LE(BigInt(header.length), 0);
    header.copy(bytes, 8);
    for (const [tensor, t] of Object.entries(JSON.parse(f.header) as Record<string, { dtype: string; data_offsets: number[] }>)) {
      if (tensor === '__metadata__') continue;
      assert.equal(t.dtype, 'F32', `${file}: ${tensor}`);
      Buffer.from(encode(w.get(tensor)!, 'F32')).copy(bytes, 8 + header.length + t.data_offsets[0]!);
    }
    assert.equal(createHash('sha256').update(bytes).digest('hex'), f.sha256, `${name}/${file} is save_pretrained's file`);
    fs.writeFileSync(path.join(saved, file), bytes);
  }
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) fs.copyFileSync(path.join(folder, f), path.join(saved, f));
  return saved;
}

/** libllama's logits for the fixture's ids at the fixture's columns, position-major. */
async function logits(model: string, adapter?: string): Promise<number[]> {
  const runner = await openRunner(model, adapter ? [{ path: adapter }] : [], { device: 'cpu', nCtx: 64 });
  try {
    const all = await runner.logits(fx.ids);
    const V = all.length / fx.ids.length;
    return fx.ids.flatMap((_, t) => Array.from({ length: Math.ceil(V / fx.columnStride) }, (_, j) => all[t * V + j * fx.columnStride]!));
  } finally {
    await runner.dispose();
  }
}

const converted = new Map<string, Promise<string>>();
const convertedGguf = (name: string) => {
  if (!converted.has(name)) {
    const out = path.join(dir, `${name}.gguf`);
    converted.set(name, convertHf(savedFolder(name), out, { type: 'f32' }).then(() => out));
  }
  return converted.get(name)!;
};

for (const name of Object.keys(fx.checkpoints)) {
  test(`convert of save_pretrained's ${name}: libllama's logits equal transformers' (f32)`, async (t) => {
    const err = relError(await logits(await convertedGguf(name)), fx.checkpoints[name]!.logits.flat());
    t.diagnostic(`${name}: max |logit difference| / max |logit| = ${err.toExponential(2)}`);
    assert.ok(err < 1e-4, `${err} >= 1e-4`);
  });
}

test("tokenizer.json converted: libllama's ids equal the tokenizers library's, special tokens added", async () => {
  const llama3 = path.join(dir, 'llama3-vocab.gguf');
  await writeGguf(llama3, [['general.architecture', { str: 'llama' }], ...convertTokenizer(tokenizerDir('tokenizer-llama3'), 128256)], [], async () => {});
  for (const [name, gguf] of [['llama2', await convertedGguf('llama')], ['llama3', llama3]] as const) {
    const tok = await openTokenizer(gguf);
    try {
      assert.ok(fx.tokenizers[name].length > 90, `${name}: the fixture's strings`);
      for (const { text, ids } of fx.tokenizers[name]) {
        assert.deepEqual([...(await tok.tokenize(text, { addSpecial: true }))], ids, `${name}: ${JSON.stringify(text)}`);
      }
    } finally {
      await tok.dispose();
    }
  }
});

test("import of peft's saved LoRA: libllama gives PeftModel.from_pretrained's logits; export gives peft's tensors back bit for bit", async (t) => {
  const base = await convertedGguf('llama');
  const peft = path.join(fixtures, 'peft-llama');
  const adapter = path.join(dir, 'peft-llama.gguf');
  let r = runCli('import', '--peft', peft, '--base', base, '--out', adapter);
  assert.equal(r.status, 0, r.stderr);
  const ours = await logits(base, adapter);
  const err = relError(ours, fx.peftLogits.flat());
  t.diagnostic(`max |logit difference| / max |logit| = ${err.toExponential(2)}`);
  assert.ok(err < 1e-4, `${err} >= 1e-4`);
  assert.ok(relError(ours, fx.checkpoints.llama!.logits.flat()) > 1e-3, 'the adapter changes the logits');

  const back = path.join(dir, 'peft-back');
  r = runCli('export', '--lora', adapter, '--base', base, '--format', 'peft', '--out', back);
  assert.equal(r.status, 0, r.stderr);
  const want = readSafetensorsHeader(path.join(peft, 'adapter_model.safetensors'));
  const got = new Map(readSafetensorsHeader(path.join(back, 'adapter_model.safetensors')).map((s) => [s.name, s]));
  assert.equal(got.size, want.length);
  for (const s of want) {
    const g = got.get(s.name);
    assert.ok(g, `export writes ${s.name}`);
    assert.deepEqual(g.shape, s.shape, s.name);
    assert.ok(Buffer.from(readTensorBytes(g)).equals(Buffer.from(readTensorBytes(s))), `${s.name} bit for bit`);
  }
  const [a, b] = [path.join(peft, 'adapter_config.json'), path.join(back, 'adapter_config.json')].map((f) => JSON.parse(fs.readFileSync(f, 'utf8')));
  for (const k of ['peft_type', 'r', 'lora_alpha', 'lora_dropout']) assert.deepEqual(b[k], a[k], k);
  assert.deepEqual([...b.target_modules].sort(), [...a.target_modules].sort());
});
