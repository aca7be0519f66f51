#!/usr/bin/env node
// Training-step benchmark on a random-initialized model made by create-model (no download):
//   npm run bench -- --shape 7b --quant q4_k --micro-batch 4 --seq 256 --lora-r 8
// Runs warm-up steps, then timed optimizer steps (one micro-batch each), and prints one JSON
// line: tokens/s, ms per step, device memory in use after the steps, compute buffer size,
// model FLOPs utilization (4 * N * tokens per step over the device's peak), device name.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { applyMemoryPlan, createModel, describePlan, info, openTrainer, SHAPES } from '../dist/lib/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = yargs(hideBin(process.argv))
  .option('shape', { type: 'string', default: 'tiny', choices: Object.keys(SHAPES) })
  .option('layers', { type: 'number', describe: "override the shape's layer count (a short model for profiling)" })
  .option('quant', { type: 'string', default: 'q4_0' }) // q4_k needs widths that are multiples of 256 (not tiny)
  .option('micro-batch', { type: 'number', default: 4 })
  .option('seq', { type: 'number', default: 256 })
  .option('lora-r', { type: 'number', default: 8 })
  .option('steps', { type: 'number', default: 5 })
  .option('warmup', { type: 'number', default: 2 })
  .option('device', { type: 'string', default: 'auto' })
  .option('checkpointing', { type: 'boolean', describe: 'recompute every block (--no-checkpointing keeps every activation); default: the memory plan' })
  .option('keep-blocks', { type: 'number', describe: 'with checkpointing, the last N blocks keep their activations' })
  .option('memory-budget', { type: 'number', describe: 'GiB for the memory plan (default: the free memory)' })
  .option('bf16-weights', { type: 'boolean', describe: 'bf16 copies of the quantized weights (default: when the plan fits them)' })
  .option('cache', { type: 'string', default: path.join(root, '.cache') })
  .strict()
  .parseSync();

// Dense bf16 peak of known cards (FLOP/s, NVIDIA's published figures, as other trainers quote
// MFU against them; an 8192^3 bf16 GEMM reaches ~790e12 on the H200 here), for MFU.
const PEAK = { H200: 989e12, H100: 989e12 };

fs.mkdirSync(args.cache, { recursive: true });
const model = path.join(args.cache, `bench-${args.shape}${args.layers ? `-l${args.layers}` : ''}-${args.quant}.gguf`);
if (!fs.existsSync(model)) await createModel(model, { shape: args.shape, ...(args.layers ? { nLayer: args.layers } : {}), type: args.quant, seed: 1 });

const t = await openTrainer(model, { rank: args.loraR, alpha: 2 * args.loraR, dropout: 0.05 }, { device: args.device });
// the plan as train makes it: the flags when given, else as many kept blocks as fit
const plan = await applyMemoryPlan(t, {
  rows: args.microBatch, len: args.seq, gradientCheckpointing: args.checkpointing, keepBlocks: args.keepBlocks, memoryBudget: args.memoryBudget,
  bf16Weights: args.bf16Weights,
});
console.error(describePlan(plan));
const { hparams: hp, device } = await t.info();
const rows = args.microBatch, len = args.seq, n = rows * len;
const tokens = new Int32Array(n).map((_, i) => 3 + ((i * 7919) % (hp.nVocab - 3)));
const labels = Int32Array.from(tokens).map((v, i) => (i % len < 32 ? -100 : v)); // a 32-token prompt per row
const segments = new Int32Array(n);
const batch = { rows, tokens, labels, segments };

let ms = 0;
let stats;
for (let s = 0; s < args.warmup + args.steps; s++) {
  const t0 = performance.now();
  stats = await t.trainMicroBatch(batch);
  await t.optimizerStep({ lr: 1e-4 });
  if (s >= args.warmup) ms += performance.now() - t0;
}
const msPerStep = ms / args.steps;
const dev = (await info()).devices.find((d) => d.name === device);
const params = hp.nLayer * (4 * hp.nEmbd * hp.nEmbd * (1 + hp.nHeadKv / hp.nHead) / 2 + 3 * hp.nEmbd * hp.nFf) + 2 * hp.nEmbd * hp.nVocab;
const peak = Object.entries(PEAK).find(([k]) => dev?.description.includes(k))?.[1];
console.log(JSON.stringify({
  shape: args.shape,
  layers: hp.nLayer, quant: args.quant, microBatch: rows, seq: len, loraR: args.loraR,
  plan: args.checkpointing === undefined && args.keepBlocks === undefined ? 'auto' : 'given', keptBlocks: plan.keptBlocks, nBlocks: plan.nBlocks, bf16Weights: plan.bf16Weights,
  memoryBudgetGiB: args.memoryBudget ?? null, plannedGiB: +(plan.needBytes / 2 ** 30).toFixed(2),
  device: dev ? `${dev.name} ${dev.description}` : device,
  tokensPerSec: Math.round((n / msPerStep) * 1000),
  msPerStep: Math.round(msPerStep * 10) / 10,
  deviceMemoryUsedGiB: dev && dev.type !== 'cpu' ? +((dev.memoryTotal - dev.memoryFree) / 2 ** 30).toFixed(2) : null,
  computeBufferGiB: +(stats.computeBytes / 2 ** 30).toFixed(2),
  cpuNodes: stats.cpuNodes,
  graphs: stats.graphs,
  graphsReused: stats.graphsReused,
  hostMs: +stats.hostMs.toFixed(1),
  mfu: peak ? +((4 * params * n) / (msPerStep / 1000) / peak).toFixed(4) : null,
  loss: +stats.loss.toFixed(4),
}));
await t.dispose();
