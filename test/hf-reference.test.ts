// `convert`, `import` and `export` against what transformers, peft and Hugging Face's tokenizers
// library made on the GPU machine (test/reference/make_hf_fixtures.py, fixtures/hf/): the
// checkpoints as save_pretrained wrote them, rebuilt here byte for byte from the same weights
// (sha256 of each file); transformers' float32 logits; a LoRA that peft saved and the logits of
// PeftModel.from_pretrained with it and with the folder `export` writes from it; and the tokenizers
// library's ids.
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
import { cosine } from './helpers/compare.js';
import { repoRoot, scratchDir } from './helpers/paths.js';
import { runCli } from './helpers/cli.js';

type SavedFile = { text: string } | { header: string; size: number; sha256: string };
interface Fixture {
  columnStride: number;
  sequences: number[][];
  checkpoints: Record<string, { files: Record<string, SavedFile>; logits: number[][][] }>; // [sequence][position][column]
  peftLogits: number[][][];
  exportedPeftLogits: number[][][];
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

/** libllama's logits for the fixture's sequences at the fixture's columns, flattened as the fixture's. */
async function logits(model: string, adapter?: string): Promise<number[]> {
  const runner = await openRunner(model, adapter ? [{ path: adapter }] : [], { device: 'cpu', nCtx: 64 });
  try {
    const out: number[] = [];
    for (const ids of fx.sequences) {
      const all = await runner.logits(ids);
      const V = all.length / ids.length;
      for (let t = 0; t < ids.length; t++) for (let j = 0; j < V; j += fx.columnStride) out.push(all[t * V + j]!);
    }
    return out;
  } finally {
    await runner.dispose();
  }
}
const flat = (l: number[][][]) => l.flat(2);

const saved = new Map<string, string>();
const savedOnce = (name: string) => saved.get(name) ?? saved.set(name, savedFolder(name)).get(name)!;
const converted = new Map<string, Promise<string>>();
const convertedGguf = (name: string, type = 'f32') => {
  const key = `${name}-${type}`;
  if (!converted.has(key)) {
    const out = path.join(dir, `${key}.gguf`);
    converted.set(key, convertHf(savedOnce(name), out, { type }).then(() => out));
  }
  return converted.get(key)!;
};

for (const name of Object.keys(fx.checkpoints)) {
  test(`convert of save_pretrained's ${name}: libllama's logits equal transformers' (f32)`, async (t) => {
    const err = relError(await logits(await convertedGguf(name)), flat(fx.checkpoints[name]!.logits));
    t.diagnostic(`${name}: max |logit difference| / max |logit| = ${err.toExponential(2)}`);
    assert.ok(err < 1e-4, `${err} >= 1e-4`);
  });
}

test("convert --type q8_0 of save_pretrained's llama: transformers' logits within the engine parity tests' quantized tolerance", async (t) => {
  const [ours, ref] = [await logits(await convertedGguf('llama', 'q8_0')), flat(fx.checkpoints.llama!.logits)];
  const [c, err] = [cosine(ours, ref), relError(ours, ref)];
  t.diagnostic(`cosine ${c.toFixed(6)}, max |logit difference| / max |logit| = ${err.toExponential(2)}`);
  assert.ok(c >= 0.999 && err > 1e-6, `cosine ${c} (quantized: >= 0.999, and not the f32 logits)`);
});

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

test("import of peft's saved LoRA: libllama gives PeftModel.from_pretrained's logits; export gives peft's tensors back bit for bit, and peft loads it", async (t) => {
  const base = await convertedGguf('llama');
  const peft = path.join(fixtures, 'peft-llama');
  const adapter = path.join(dir, 'peft-llama.gguf');
  let r = runCli('import', '--peft', peft, '--base', base, '--out', adapter);
  assert.equal(r.status, 0, r.stderr);
  const ours = await logits(base, adapter);
  const err = relError(ours, flat(fx.peftLogits));
  t.diagnostic(`max |logit difference| / max |logit| = ${err.toExponential(2)}`);
  assert.ok(err < 1e-4, `${err} >= 1e-4`);
  assert.ok(relError(ours, flat(fx.checkpoints.llama!.logits)) > 1e-3, 'the adapter changes the logits');
  // the fixture script loaded an export of this adapter (made as below) with PeftModel.from_pretrained
  const exported = relError(ours, flat(fx.exportedPeftLogits));
  t.diagnostic(`PeftModel.from_pretrained of our export: ${exported.toExponential(2)}`);
  assert.ok(exported < 1e-4, `${exported} >= 1e-4`);

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
