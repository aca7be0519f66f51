#!/usr/bin/env node
// Generation benchmark: the test prompts of a file (default: the reference's 15) on a
// random-initialized model made by create-model, as one batched job (all prompts as parallel
// sequences of one context) and one by one; prints one JSON line with tokens/s of each.
//   node scripts/bench-generate.mjs --shape 7b --quant q4_k
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { createModel, generatePoems, info, loadRecords, SHAPES } from '../dist/lib/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = yargs(hideBin(process.argv))
  .option('shape', { type: 'string', default: 'tiny', choices: Object.keys(SHAPES) })
  .option('quant', { type: 'string', default: 'q4_0' }) // q4_k needs widths that are multiples of 256 (not tiny)
  .option('data', { type: 'string', default: path.join(root, 'test', 'data', 'tang-test-15.json') }) // the reference's 15 test prompts
  .option('max-new-tokens', { type: 'number', default: 128 })
  .option('device', { type: 'string', default: 'auto' })
  .option('cache', { type: 'string', default: path.join(root, '.cache') })
  .strict()
  .parseSync();

fs.mkdirSync(args.cache, { recursive: true });
const model = path.join(args.cache, `bench-${args.shape}-${args.quant}.gguf`);
if (!fs.existsSync(model)) await createModel(model, { shape: args.shape, type: args.quant, seed: 1 });
const records = loadRecords(args.data, { requireOutput: false });

async function timed(parallel) {
  const t0 = performance.now();
  const poems = await generatePoems(records, { model, device: args.device, maxNewTokens: args.maxNewTokens, parallel });
  const seconds = (performance.now() - t0) / 1000;
  const tokens = poems.reduce((s, p) => s + p.tokens, 0);
  return { poems, summary: { tokens, seconds: +seconds.toFixed(2), tokensPerSec: +(tokens / seconds).toFixed(1) } };
}

// Warm-up: the first load of a model reads it from disk; neither timed run should pay for that.
await generatePoems(records.slice(0, 1), { model, device: args.device, maxNewTokens: 1, parallel: 1 });
const batched = await timed(records.length);
const single = await timed(1);
const devices = (await info()).devices;
const dev = devices.find((d) => (args.device === 'cpu' ? d.type === 'cpu' : d.type !== 'cpu')) ?? devices[0];
console.log(JSON.stringify({
  shape: args.shape, quant: args.quant, prompts: records.length, maxNewTokens: args.maxNewTokens,
  device: dev ? `${dev.name} ${dev.description}` : args.device,
  batched: batched.summary, oneByOne: single.summary,
  speedup: +(batched.summary.tokensPerSec / single.summary.tokensPerSec).toFixed(2),
  sameOutputs: batched.poems.every((p, i) => p.output === single.poems[i].output),
}));
