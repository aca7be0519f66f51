// The engine learns: a rank-64 LoRA on the `small` random model (4 layers, d=128, q8_0 base)
// memorizes 32 Tang samples in 200 optimizer steps of 8 packed rows (~60 epochs), and
// libllama's greedy decoding with the saved adapter gives their outputs back.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { createModel, generatePoems, loadRecords, train, type MetricsLine } from '../lib/index.js';
import { device, repoRoot, scratchDir } from './helpers/paths.js';


test('200 steps on 32 Tang samples: loss under 10% of its start, greedy decoding reproduces the outputs', async () => {
  const dir = scratchDir('learning');
  const model = path.join(dir, 'small-q8_0.gguf');
  await createModel(model, { shape: 'small', type: 'q8_0', seed: 1 });
  const data = path.join(repoRoot, 'test', 'data', 'tang-32.json');
  const logs: MetricsLine[] = [];
  const result = await train({
    model, data, out: path.join(dir, 'run'), device,
    maxSteps: 200, microBatchSize: 8, gradAccum: 1, lr: 4e-3, lrScheduler: 'linear', warmupSteps: 20,
    loraR: 64, loraAlpha: 128, loraDropout: 0, loggingSteps: 1, saveSteps: 1000,
    onLog: (m) => logs.push(m),
  });
  assert.equal(result.steps, 200);
  // The dataset is a few micro-batches of different loss, so compare averages over 8 steps.
  const mean = (xs: MetricsLine[]) => xs.reduce((s, m) => s + m.loss, 0) / xs.length;
  const start = mean(logs.slice(0, 8));
  const end = mean(logs.slice(-8));
  console.log(`learning: loss ${start.toFixed(3)} -> ${end.toFixed(3)} (${((100 * end) / start).toFixed(1)}%)`);
  assert.ok(end < 0.1 * start, `loss ${start} -> ${end} is not under 10% of its start`);

  const records = loadRecords(data);
  const poems = await generatePoems(records, {
    model, adapters: [{ path: result.adapter, scale: 1 }], device,
    temperature: 0, noRepeatNgramSize: 0, maxNewTokens: 256, parallel: 8,
  });
  const exact = poems.filter((p, i) => p.output === records[i]!.output).length;
  console.log(`learning: ${exact}/${records.length} outputs reproduced exactly`);
  assert.ok(exact > records.length / 2, `only ${exact} of ${records.length} outputs reproduced`);
  fs.rmSync(dir, { recursive: true, force: true });
});
