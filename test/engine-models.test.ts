// Every supported architecture and weight type loads and trains a step: the loss is finite,
// the gradients are nonzero, and on CUDA no graph node falls back to the CPU.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { createModel, openTrainer, type Batch } from '../lib/index.js';
import { device, expectCuda, scratchDir } from './helpers/paths.js';

const dir = scratchDir('models');

function batch(nVocab: number): Batch {
  const len = 24;
  const tokens = new Int32Array(len).map((_, i) => 3 + ((i * 7919) % (nVocab - 3)));
  const labels = Int32Array.from(tokens).map((t, i) => (i < 6 ? -100 : t));
  return { rows: 1, tokens, labels, segments: new Int32Array(len) };
}

// K-quants pack 256 values a block, so their models are 256 wide.
const cases: Array<{ arch: 'llama' | 'mistral' | 'qwen2'; type: string; wide?: boolean }> = [
  { arch: 'llama', type: 'f16' },
  { arch: 'llama', type: 'bf16' },
  { arch: 'llama', type: 'q4_1' },
  { arch: 'llama', type: 'q4_k', wide: true },
  { arch: 'llama', type: 'q5_k', wide: true },
  { arch: 'llama', type: 'q6_k', wide: true },
  { arch: 'mistral', type: 'q8_0' },
  { arch: 'qwen2', type: 'q4_0' },
];

for (const c of cases) {
  test(`${c.arch} ${c.type} trains a step on ${device}`, async () => {
    const file = path.join(dir, `${c.arch}-${c.type}.gguf`);
    const dims = c.wide ? { nEmbd: 256, nFf: 512, nHead: 4, nHeadKv: 1 } : {};
    const vocab = c.arch === 'qwen2' ? 'qwen2' : 'llama-spm';
    await createModel(file, { shape: 'tiny', arch: c.arch, vocab, type: c.type, seed: 2, ...dims });
    const t = await openTrainer(file, { rank: 4, dropout: 0.05 }, { device });
    try {
      const { hparams } = await t.info();
      assert.equal(hparams.arch, c.arch);
      const r = await t.trainMicroBatch(batch(hparams.nVocab));
      assert.ok(Number.isFinite(r.loss) && r.loss > 0, `loss ${r.loss}`);
      if (expectCuda) assert.equal(r.cpuNodes, 0, 'no graph node may run on the CPU backend');
      const step = await t.optimizerStep({ lr: 1e-3 });
      assert.ok(step.gradNorm > 0 && Number.isFinite(step.gradNorm), `grad norm ${step.gradNorm}`);
      const after = await t.evalLoss(batch(hparams.nVocab));
      assert.ok(Number.isFinite(after.loss));
    } finally {
      await t.dispose();
    }
  });
}
