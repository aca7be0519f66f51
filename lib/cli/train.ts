// `tang-lora train`: LoRA fine-tuning with the reference recipe's knobs and defaults (its
// options: lib/train/options.ts), then the test prompts when --test-data is given (lib/recipe.ts).
// On a terminal a live progress bar; log lines always.
// SIGINT or SIGTERM (Ctrl-C, `docker stop`, a job scheduler) saves a checkpoint, then exits
// 130 or 143; a second one exits at once.
import type { CommandModule } from 'yargs';
import { RECIPE_OPTIONS, trainAndTest, type MetricsLine, type StepProgress } from '../index.js';
import { addOptions, readConfig, readOptions } from './options.js';

const EXIT = { SIGINT: 130, SIGTERM: 143 } as const;

function progressBar(p: StepProgress): string {
  const width = 24;
  const done = Math.round((width * p.step) / p.totalSteps);
  const eta = `${Math.floor(p.etaSeconds / 60)}m${String(Math.round(p.etaSeconds % 60)).padStart(2, '0')}s`;
  return `[${'#'.repeat(done)}${'.'.repeat(width - done)}] ${p.step}/${p.totalSteps}  loss ${p.loss.toFixed(4)}  ` +
    `lr ${p.lr.toExponential(2)}  ${p.tokensPerSec} tok/s  ETA ${eta}`;
}

function logLine(m: MetricsLine): string {
  return `step ${m.step}  epoch ${m.epoch.toFixed(2)}  loss ${m.loss.toFixed(4)}  lr ${m.lr.toExponential(2)}  ` +
    `grad_norm ${m.grad_norm.toFixed(3)}  ${m.tokens_per_sec} tok/s` + (m.eval_loss !== undefined ? `  eval_loss ${m.eval_loss.toFixed(4)}` : '');
}

export const trainCommand: CommandModule<object, Record<string, unknown>> = {
  command: 'train',
  describe: 'Fine-tune a LoRA adapter on a GGUF base model (defaults: the reference recipe)',
  builder: (y) =>
    addOptions(y, RECIPE_OPTIONS).config('config', "Settings from a JSON file (flag names or the reference script's names)", (file: string) =>
      readConfig(file, RECIPE_OPTIONS, 'train'),
    ),
  handler: async (a) => {
    const ac = new AbortController();
    let stopped: keyof typeof EXIT | undefined;
    const onSignal = (sig: keyof typeof EXIT) => {
      if (stopped) process.exit(EXIT[sig]);
      stopped = sig;
      console.error(`tang-lora: ${sig === 'SIGINT' ? 'interrupted' : 'terminated'}; saving a checkpoint (again to quit at once)`);
      ac.abort();
    };
    for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, onSignal);
    const tty = process.stdout.isTTY === true;
    const clear = () => tty && process.stdout.write('\r\x1b[K');
    const v = readOptions(RECIPE_OPTIONS, a);
    let r;
    try {
      r = await trainAndTest({
        ...v,
        model: v.model!,
        data: v.data!,
        out: v.out!,
        signal: ac.signal,
        onLog: (m) => (clear(), console.log(logLine(m))),
        onStep: (p) => tty && (clear(), process.stdout.write(progressBar(p))),
        onNotice: (line) => console.error(`tang-lora: ${line}`),
        onPlan: (line) => console.log(`tang-lora: ${line}`),
      });
    } catch (e) {
      if (!stopped) throw e;
      clear();
      console.error(`tang-lora: ${(e as Error).message}`);
      process.exit(EXIT[stopped]);
    }
    clear();
    for (const sig of ['SIGINT', 'SIGTERM'] as const) process.off(sig, onSignal);
    if (r.skippedRecords.length > 0) {
      console.error(
        `tang-lora: skipped ${r.skippedRecords.length} record(s) whose prompt alone reaches --cutoff-len: ${r.skippedRecords.slice(0, 10).join(', ')}` +
          (r.skippedRecords.length > 10 ? ', ...' : ''),
      );
    }
    console.log(
      `tang-lora: ${r.steps} steps, final loss ${r.finalLoss.toFixed(4)}, padding ${(100 * r.paddingFraction).toFixed(1)}% of ` +
        `${r.tokens} tokens; adapter ${r.adapter}`,
    );
    if (r.results) console.log(`tang-lora: test prompts: ${r.results}${r.eval ? `, scores ${r.eval}` : ''}; report ${r.report}`);
    if (stopped) process.exit(EXIT[stopped]);
  },
};
