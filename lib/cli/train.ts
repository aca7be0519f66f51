// `tang-lora train`: LoRA fine-tuning with the reference recipe's knobs and defaults.
// On a terminal a live progress bar (step/total, loss, lr, tokens/s, ETA); log lines always.
import type { CommandModule } from 'yargs';
import { TEMPLATES, type TemplateName } from '../data/template.js';
import { readTrainConfig } from '../train/config.js';
import { train, TRAIN_DEFAULTS, type MetricsLine, type StepProgress } from '../train/train.js';

const d = TRAIN_DEFAULTS;

const TRAIN_FLAGS = [
  'model', 'data', 'out', 'device', 'gradient-checkpointing', 'keep-blocks', 'epochs', 'max-steps', 'lr', 'lr-scheduler', 'warmup-steps', 'micro-batch-size',
  'grad-accum', 'max-grad-norm', 'weight-decay', 'cutoff-len', 'lora-r', 'lora-alpha', 'lora-dropout', 'target-modules',
  'num-train-data', 'seed', 'val-set-size', 'eval-steps', 'train-on-prompt', 'template', 'packing', 'logging-steps', 'save-steps', 'save-total-limit', 'resume',
  'overwrite',
];

export const trainCommand: CommandModule = {
  command: 'train',
  describe: 'Fine-tune a LoRA adapter on a GGUF base model (defaults: the reference recipe)',
  builder: (y) =>
    y
      .option('model', { type: 'string', demandOption: true, describe: 'Base model (.gguf)' })
      .option('data', { type: 'string', demandOption: true, describe: 'Training records (JSON array or JSONL)' })
      .option('out', { type: 'string', demandOption: true, describe: 'Output folder' })
      .option('device', { type: 'string', default: d.device, choices: ['cpu', 'cuda', 'auto'] })
      .option('gradient-checkpointing', {
        type: 'boolean',
        default: d.gradientCheckpointing,
        describe: 'Recompute activations in the backward pass (--no-gradient-checkpointing: faster, more memory)',
      })
      .option('keep-blocks', {
        type: 'number',
        default: d.keepBlocks,
        describe: 'With checkpointing, the last N residual blocks (2 per layer) keep their activations: faster, more memory',
      })
      .option('epochs', { type: 'number', default: d.epochs })
      .option('max-steps', { type: 'number', default: d.maxSteps, describe: 'Optimizer steps (> 0 overrides --epochs)' })
      .option('lr', { type: 'number', default: d.lr, describe: 'Peak learning rate' })
      .option('lr-scheduler', { type: 'string', default: d.lrScheduler, choices: ['linear', 'cosine', 'constant'] })
      .option('warmup-steps', { type: 'number', default: d.warmupSteps })
      .option('micro-batch-size', { type: 'number', default: d.microBatchSize, describe: 'Rows per micro-batch' })
      .option('grad-accum', { type: 'number', default: d.gradAccum, describe: 'Micro-batches per optimizer step' })
      .option('max-grad-norm', { type: 'number', default: d.maxGradNorm })
      .option('weight-decay', { type: 'number', default: d.weightDecay })
      .option('cutoff-len', { type: 'number', default: d.cutoffLen })
      .option('lora-r', { type: 'number', default: d.loraR })
      .option('lora-alpha', { type: 'number', default: d.loraAlpha })
      .option('lora-dropout', { type: 'number', default: d.loraDropout })
      .option('target-modules', { type: 'string', array: true, default: d.targetModules })
      .option('num-train-data', { type: 'number', describe: 'Use the first N records' })
      .option('seed', { type: 'number', default: d.seed })
      .option('val-set-size', { type: 'number', default: d.valSetSize, describe: 'Records held out for eval loss (0 = none)' })
      .option('eval-steps', { type: 'number', describe: 'Evaluate every N steps (default: --logging-steps)' })
      .option('train-on-prompt', { type: 'boolean', default: d.trainOnPrompt })
      .option('template', { type: 'string', default: d.template, choices: TEMPLATES, describe: "Prompt template (model: the GGUF's own chat template)" })
      .option('packing', { type: 'boolean', default: d.packing, describe: '--no-packing pads every sample to --cutoff-len' })
      .option('logging-steps', { type: 'number', default: d.loggingSteps })
      .option('save-steps', { type: 'number', default: d.saveSteps })
      .option('save-total-limit', { type: 'number', default: d.saveTotalLimit })
      .option('resume', { type: 'string', describe: 'Continue from a checkpoint folder of this run' })
      .option('overwrite', { type: 'boolean', default: d.overwrite, describe: 'Replace an earlier run in --out' })
      .config('config', 'Settings from a JSON file (flag names or the reference script\'s names)', (file: string) =>
        readTrainConfig(file, new Set(TRAIN_FLAGS)),
      ),
  handler: async (a) => {
    const ac = new AbortController();
    let interrupts = 0;
    const onSigint = () => {
      if (++interrupts > 1) process.exit(130);
      console.error('tang-lora: interrupted; saving a checkpoint (Ctrl-C again to quit at once)');
      ac.abort();
    };
    process.on('SIGINT', onSigint);
    const tty = process.stdout.isTTY === true;
    const clear = () => {
      if (tty) process.stdout.write('\r\x1b[K');
    };
    const bar = (p: StepProgress) => {
      if (!tty) return;
      const width = 24;
      const done = Math.round((width * p.step) / p.totalSteps);
      const eta = `${Math.floor(p.etaSeconds / 60)}m${String(Math.round(p.etaSeconds % 60)).padStart(2, '0')}s`;
      clear();
      process.stdout.write(`[${'#'.repeat(done)}${'.'.repeat(width - done)}] ${p.step}/${p.totalSteps}  loss ${p.loss.toFixed(4)}  ` +
        `lr ${p.lr.toExponential(2)}  ${p.tokensPerSec} tok/s  ETA ${eta}`);
    };
    const log = (m: MetricsLine) => {
      clear();
      console.log(
        `step ${m.step}  epoch ${m.epoch.toFixed(2)}  loss ${m.loss.toFixed(4)}  lr ${m.lr.toExponential(2)}  ` +
          `grad_norm ${m.grad_norm.toFixed(3)}  ${m.tokens_per_sec} tok/s` +
          (m.eval_loss !== undefined ? `  eval_loss ${m.eval_loss.toFixed(4)}` : ''),
      );
    };
    const r = await train({
      model: a.model as string,
      data: a.data as string,
      out: a.out as string,
      device: a.device as string,
      gradientCheckpointing: a['gradient-checkpointing'] as boolean,
      keepBlocks: a['keep-blocks'] as number,
      epochs: a.epochs as number,
      maxSteps: a['max-steps'] as number,
      lr: a.lr as number,
      lrScheduler: a['lr-scheduler'] as 'linear',
      warmupSteps: a['warmup-steps'] as number,
      microBatchSize: a['micro-batch-size'] as number,
      gradAccum: a['grad-accum'] as number,
      maxGradNorm: a['max-grad-norm'] as number,
      weightDecay: a['weight-decay'] as number,
      cutoffLen: a['cutoff-len'] as number,
      loraR: a['lora-r'] as number,
      loraAlpha: a['lora-alpha'] as number,
      loraDropout: a['lora-dropout'] as number,
      targetModules: a['target-modules'] as string[],
      numTrainData: a['num-train-data'] as number | undefined,
      seed: a.seed as number,
      valSetSize: a['val-set-size'] as number,
      evalSteps: a['eval-steps'] as number | undefined,
      trainOnPrompt: a['train-on-prompt'] as boolean,
      template: a.template as TemplateName,
      packing: a.packing as boolean,
      loggingSteps: a['logging-steps'] as number,
      saveSteps: a['save-steps'] as number,
      saveTotalLimit: a['save-total-limit'] as number,
      resume: a.resume as string | undefined,
      overwrite: a.overwrite as boolean,
      signal: ac.signal,
      onLog: log,
      onStep: bar,
    });
    clear();
    process.off('SIGINT', onSigint);
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
    if (r.aborted) process.exit(130);
  },
};
