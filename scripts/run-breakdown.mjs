#!/usr/bin/env node
// Where a training run's time goes outside the kernels: the start-up phases (tokenizing, loading the model,
// sizing and the plan), then micro-batches of the run's own data (their shapes vary, as `train` packs them),
// each one's wall time and the host's part of it (building and allocating its graphs), an optimizer step every
// --grad-accum, with `train`'s defaults (TRAIN_DEFAULTS). Prints a line a phase and one JSON line for the
// micro-batches after the first 8 (warm-up).
//   node scripts/run-breakdown.mjs --model M.gguf --data data/train.json [--device cuda] [--micro-batches 48] [--no-packing]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { applyMemoryPlan, describePlan, openTrainer, TRAIN_DEFAULTS as D } from '../dist/lib/index.js';
import { loadRecords } from '../dist/lib/data/records.js';
import { promptTemplate } from '../dist/lib/data/template.js';
import { openTokenizer } from '../dist/lib/model/tokenizer.js';
import { packBatches, tokenizeSample } from '../dist/lib/train/samples.js';

const args = yargs(hideBin(process.argv))
  .option('model', { type: 'string', demandOption: true })
  .option('data', { type: 'string', demandOption: true })
  .option('device', { type: 'string', default: 'cuda' })
  .option('micro-batches', { type: 'number', default: 48 })
  .option('micro-batch-size', { type: 'number', default: D.microBatchSize })
  .option('grad-accum', { type: 'number', default: D.gradAccum })
  .option('cutoff-len', { type: 'number', default: D.cutoffLen })
  .option('packing', { type: 'boolean', default: D.packing })
  .option('template', { type: 'string', default: D.template })
  .strict().parseSync();

let t = performance.now();
const lap = (what) => {
  const now = performance.now();
  console.log(`${what}: ${(now - t).toFixed(0)} ms`);
  t = now;
};
const tok = await openTokenizer(args.model);
const template = promptTemplate(args.template, tok);
const samples = [];
for (const r of loadRecords(args.data)) samples.push(await tokenizeSample(tok, r, { cutoffLen: args.cutoffLen, trainOnPrompt: D.trainOnPrompt, template }));
const batches = packBatches(samples, { rowLen: args.cutoffLen, rows: args.microBatchSize, pad: tok.eos, packing: args.packing })
  .slice(0, args.microBatches);
await tok.dispose();
lap(`tokenizing ${samples.length} records`);
const lora = { rank: D.loraR, alpha: D.loraAlpha, dropout: D.loraDropout, targets: D.targetModules, seed: D.seed };
const trainer = await openTrainer(args.model, lora, { device: args.device });
lap('loading the model');
console.log(describePlan(await applyMemoryPlan(trainer, { rows: args.microBatchSize, len: args.cutoffLen })));
lap('sizing, the plan and its bf16 copies');
const rows = [];
for (const [k, b] of batches.entries()) {
  const t0 = performance.now();
  const s = await trainer.trainMicroBatch(b, { lossScale: 1 / args.gradAccum });
  const ms = performance.now() - t0;
  const t1 = performance.now();
  if (k % args.gradAccum === args.gradAccum - 1) await trainer.optimizerStep({ lr: 1e-5 });
  rows.push({ len: b.tokens.length / b.rows, tokens: b.tokens.length, ms, hostMs: s.hostMs, optimizerMs: performance.now() - t1 });
}
t = performance.now();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tang-lora-breakdown-'));
await trainer.saveAdapter(path.join(dir, 'adapter.gguf'));
lap('saving the adapter');
fs.rmSync(dir, { recursive: true });
await trainer.dispose();
const warm = rows.slice(Math.min(8, rows.length - 1));
const mean = (f) => +(warm.reduce((a, r) => a + f(r), 0) / warm.length).toFixed(1);
console.log(JSON.stringify({
  firstMicroBatchMs: +rows[0].ms.toFixed(1), microBatches: warm.length, meanMs: mean((r) => r.ms), meanHostMs: mean((r) => r.hostMs),
  maxHostMs: +Math.max(...warm.map((r) => r.hostMs)).toFixed(1), meanOptimizerMs: mean((r) => r.optimizerMs),
  meanTokens: mean((r) => r.tokens), lengths: new Set(warm.map((r) => r.len)).size,
}));
