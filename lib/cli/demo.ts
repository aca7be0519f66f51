// `tang-lora demo`: the whole job in under two minutes on a CPU, nothing to download. Creates the
// `small` random model, takes the 16 Tang poems shipped with tang-lora, trains a LoRA until it
// knows them, and shows completions before and after.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CommandModule } from 'yargs';
import { createModel, demoDataset, generatePoems, train, writeTangDataset, type OptionTable } from '../index.js';
import { addOptions, readOptions } from './options.js';

export const DEMO_OPTIONS = {
  out: { type: 'string', nonEmpty: true, describe: 'Folder for the model, data and run (default: a temporary folder)' },
  steps: { type: 'int', min: 1, max: 100000, default: 150, describe: 'Training steps' },
  device: { type: 'string', nonEmpty: true, default: 'cpu', describe: 'cpu, cuda or auto' },
} as const satisfies OptionTable;

export const demoCommand: CommandModule<object, Record<string, unknown>> = {
  command: 'demo',
  describe: 'Create a small model, build a Tang dataset, train on the CPU and show completions before/after',
  builder: (y) => addOptions(y, DEMO_OPTIONS),
  handler: async (a) => {
    const { out, steps, device } = readOptions(DEMO_OPTIONS, a) as { out?: string; steps: number; device: string };
    const dir = out ?? fs.mkdtempSync(path.join(os.tmpdir(), 'tang-lora-demo-'));
    fs.mkdirSync(dir, { recursive: true });
    const model = path.join(dir, 'small-q8_0.gguf');
    console.log(`tang-lora demo in ${dir}`);
    console.log('1. a random 4-layer model (d=128, q8_0, the Llama-2 vocabulary)');
    await createModel(model, { shape: 'small', type: 'q8_0', seed: 1 });
    console.log('2. 16 Tang poems (from the chinese-poetry corpus, shipped with tang-lora)');
    const data = demoDataset();
    const files = writeTangDataset(path.join(dir, 'data'), data);
    const shown = data.train.slice(0, 3);
    const complete = (adapters: { path: string }[]) =>
      generatePoems(shown, { model, adapters, device, temperature: 0, noRepeatNgramSize: 0, maxNewTokens: 160, parallel: 3 });
    const before = await complete([]);
    console.log(`3. training a rank-64 LoRA for ${steps} steps`);
    const losses: number[] = [];
    const result = await train({
      model, data: files.train, out: path.join(dir, 'run'), device, overwrite: true,
      maxSteps: steps, microBatchSize: 4, gradAccum: 1, lr: 4e-3, warmupSteps: 20, loraR: 64, loraAlpha: 128,
      loraDropout: 0, loggingSteps: Math.min(10, steps), saveSteps: 1000,
      onLog: (m) => {
        losses.push(m.loss);
        console.log(`   step ${String(m.step).padStart(3)}  loss ${m.loss.toFixed(3)}  ${Math.round(m.tokens_per_sec)} tokens/s`);
      },
    });
    const [first, last] = [losses[0]!, losses.at(-1)!];
    console.log(`   loss ${first.toFixed(3)} -> ${last.toFixed(3)} (${((100 * last) / first).toFixed(1)}% of its start)`);
    const after = await complete([{ path: result.adapter }]);
    console.log('4. completions of training prompts, before -> after');
    shown.forEach((r, i) => {
      console.log(`   ${r.input}\n     before: ${before[i]!.output.slice(0, 40)}\n     after:  ${after[i]!.output}\n     truth:  ${r.output}`);
    });
    console.log(`adapter: ${result.adapter} (llama.cpp: --lora)`);
  },
};
