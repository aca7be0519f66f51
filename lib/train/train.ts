// The training run: records -> tokenized samples -> (packed) micro-batches -> optimizer
// steps with gradient accumulation, the learning-rate schedule, logging, checkpoints, resume.
// Defaults are the reference recipe's (../shared/spec/recipe.md).
import fs from 'node:fs';
import path from 'node:path';
import { loadRecords } from '../data/records.js';
import { openTrainer, type Batch } from '../engine/trainer.js';
import { openRunner } from '../generate/runner.js';
import { learningRate, type SchedulerKind } from './schedule.js';
import { countTargets, packBatches, tokenizeSample, type Sample } from './samples.js';
import { writeReport } from './report.js';
import { EventWriter } from './tfevents.js';
import { shuffled } from '../data/shuffle.js';
import { promptTemplate, TEMPLATES, type TemplateName } from '../data/template.js';

export interface TrainOptions {
  model: string;
  data: string;
  out: string;
  device?: string;
  gradientCheckpointing?: boolean; // recompute activations per block (default, as the reference); false: faster, more memory
  keepBlocks?: number; // with checkpointing: the last N residual blocks (2 per layer) keep their activations
  epochs?: number;
  maxSteps?: number; // > 0 overrides epochs
  lr?: number;
  lrScheduler?: SchedulerKind;
  warmupSteps?: number;
  microBatchSize?: number;
  gradAccum?: number;
  maxGradNorm?: number;
  weightDecay?: number;
  cutoffLen?: number;
  loraR?: number;
  loraAlpha?: number;
  loraDropout?: number;
  targetModules?: string[];
  numTrainData?: number; // the first N records
  valSetSize?: number; // records split off (after a seeded shuffle) for evaluation; 0 = none
  evalSteps?: number; // evaluate every N optimizer steps (default: loggingSteps)
  seed?: number;
  trainOnPrompt?: boolean;
  template?: TemplateName; // prompt template: llama2 (the reference's, default), chatml, model
  packing?: boolean;
  loggingSteps?: number;
  saveSteps?: number;
  saveTotalLimit?: number;
  resume?: string; // a checkpoint folder of this run
  overwrite?: boolean;
  signal?: AbortSignal;
  onLog?: (m: MetricsLine) => void;
  onStep?: (p: StepProgress) => void;
}

export interface StepProgress {
  step: number;
  totalSteps: number;
  loss: number;
  lr: number;
  tokensPerSec: number;
  etaSeconds: number;
}

export interface MetricsLine {
  step: number;
  epoch: number;
  loss: number; // mean over the target tokens of the steps since the last log
  lr: number;
  grad_norm: number;
  tokens_per_sec: number;
  target_tokens: number;
  eval_loss?: number; // mean loss over the validation set's target tokens, when evaluated
}

export interface TrainResult {
  steps: number;
  finalLoss: number;
  adapter: string;
  metrics: string;
  events: string; // TensorBoard event file
  report: string; // report.html
  tokens: number; // tokens processed (padding included), for packing vs padding
  paddingFraction: number;
  skippedRecords: number[]; // records whose prompt alone reaches cutoffLen (no target left)
  aborted: boolean;
}

export const TRAIN_DEFAULTS = {
  device: 'auto',
  gradientCheckpointing: true,
  keepBlocks: 0,
  epochs: 1,
  maxSteps: -1,
  lr: 3e-4,
  lrScheduler: 'linear' as SchedulerKind,
  warmupSteps: 50,
  microBatchSize: 4,
  gradAccum: 4,
  maxGradNorm: 1.0,
  weightDecay: 0,
  cutoffLen: 256,
  loraR: 8,
  loraAlpha: 16,
  loraDropout: 0.05,
  targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
  seed: 42,
  valSetSize: 0,
  trainOnPrompt: false,
  template: 'llama2' as TemplateName,
  packing: true,
  loggingSteps: 20,
  saveSteps: 65,
  saveTotalLimit: 3,
  overwrite: false,
};

function validate(o: Required<Omit<TrainOptions, 'signal' | 'onLog' | 'onStep' | 'resume' | 'numTrainData' | 'evalSteps'>>) {
  const positive = { microBatchSize: o.microBatchSize, gradAccum: o.gradAccum, cutoffLen: o.cutoffLen, loraR: o.loraR };
  for (const [k, v] of Object.entries(positive)) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`${k} must be a positive integer, got ${v}`);
  }
  if (!(o.lr >= 0) || !Number.isFinite(o.lr)) throw new Error(`the learning rate must be a non-negative number, got ${o.lr}`);
  if (!(o.epochs > 0) && !(o.maxSteps > 0)) throw new Error('epochs or max steps must be positive');
  if (!(o.warmupSteps >= 0)) throw new Error(`warmup steps must be >= 0, got ${o.warmupSteps}`);
  if (!(o.loraDropout >= 0 && o.loraDropout < 1)) throw new Error(`LoRA dropout must be in [0, 1), got ${o.loraDropout}`);
  if (!TEMPLATES.includes(o.template)) throw new Error(`unknown template '${o.template}' (${TEMPLATES.join(', ')})`);
  if (!['linear', 'cosine', 'constant'].includes(o.lrScheduler)) throw new Error(`unknown lr scheduler '${o.lrScheduler}'`);
  if (!Number.isInteger(o.valSetSize) || o.valSetSize < 0) throw new Error(`val set size must be an integer >= 0, got ${o.valSetSize}`);
}

function prepareOut(out: string, overwrite: boolean, resuming: boolean) {
  if (fs.existsSync(out) && fs.readdirSync(out).length > 0 && !overwrite && !resuming) {
    throw new Error(`output folder '${out}' holds another run; pass --overwrite to replace it`);
  }
  if (overwrite && !resuming) fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(path.join(out, 'checkpoints'), { recursive: true });
}

export async function train(options: TrainOptions): Promise<TrainResult> {
  const o = { ...TRAIN_DEFAULTS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) } as
    typeof TRAIN_DEFAULTS & TrainOptions;
  validate(o);
  if (!fs.existsSync(o.model)) throw new Error(`model file '${o.model}' does not exist`);
  let records = loadRecords(o.data);
  if (o.numTrainData !== undefined) records = records.slice(0, o.numTrainData);
  const resume = o.resume ? JSON.parse(fs.readFileSync(path.join(o.resume, 'trainer_state.json'), 'utf8')) : null;

  // Tokenize with the model's own tokenizer (no weights loaded).
  const tok = await openRunner(o.model, [], { vocabOnly: true, device: 'cpu' });
  const samples: Sample[] = [];
  try {
    const template = promptTemplate(o.template, tok);
    for (const r of records) samples.push(await tokenizeSample(tok, r, { cutoffLen: o.cutoffLen, trainOnPrompt: o.trainOnPrompt, template }));
  } finally {
    await tok.dispose();
  }
  // A sample whose prompt alone reaches the cutoff has no target left: reported, not trained on.
  const skippedRecords = samples.flatMap((s, i) => (s.labels.some((l) => l >= 0) ? [] : [i]));
  if (skippedRecords.length === samples.length) {
    throw new Error(`every record's prompt reaches the cutoff length ${o.cutoffLen}; raise --cutoff-len`);
  }
  for (const i of [...skippedRecords].reverse()) samples.splice(i, 1);
  if (o.valSetSize >= samples.length) {
    throw new Error(`val set size ${o.valSetSize} leaves no training records out of ${samples.length}`);
  }
  prepareOut(o.out, o.overwrite, resume !== null);
  const pad = tok.eos;
  // The validation split: a seeded shuffle, the last valSetSize samples held out.
  const order = shuffled(samples, o.seed ^ 0x5eed);
  const valSamples = order.slice(order.length - o.valSetSize);
  if (o.valSetSize > 0) samples.splice(0, samples.length, ...order.slice(0, order.length - o.valSetSize));
  const valBatches = packBatches(valSamples, { rowLen: o.cutoffLen, rows: o.microBatchSize, pad, packing: o.packing });
  const evalEvery = o.evalSteps ?? o.loggingSteps;
  // Each epoch packs its own shuffle, so epochs may differ in their number of micro-batches.
  const packed: Batch[][] = [];
  const epochBatches = (epoch: number): Batch[] =>
    (packed[epoch] ??= packBatches(shuffled(samples, o.seed + epoch), { rowLen: o.cutoffLen, rows: o.microBatchSize, pad, packing: o.packing }));
  const stepsIn = (epoch: number) => Math.ceil(epochBatches(epoch).length / o.gradAccum);
  const wholeEpochs = Math.floor(o.epochs);
  const totalSteps =
    o.maxSteps > 0
      ? o.maxSteps
      : Array.from({ length: wholeEpochs }, (_, e) => stepsIn(e)).reduce((a, b) => a + b, 0) +
        Math.ceil((o.epochs - wholeEpochs) * stepsIn(wholeEpochs));

  const trainer = await openTrainer(
    o.model,
    { rank: o.loraR, alpha: o.loraAlpha, dropout: o.loraDropout, targets: o.targetModules, seed: o.seed },
    { device: o.device, checkpointing: o.gradientCheckpointing, keepBlocks: o.keepBlocks },
  );
  const metricsPath = path.join(o.out, 'metrics.jsonl');
  let step = 0;
  if (resume) {
    await trainer.loadState(path.join(o.resume!, 'optimizer.gguf'));
    step = resume.global_step;
    const kept = fs.existsSync(metricsPath) ? fs.readFileSync(metricsPath, 'utf8').split('\n').filter(Boolean) : [];
    fs.writeFileSync(metricsPath, kept.filter((l) => JSON.parse(l).step <= step).map((l) => l + '\n').join(''));
  } else {
    fs.writeFileSync(metricsPath, '');
  }

  const events = new EventWriter(o.out);
  let tokens = 0;
  let padding = 0;
  let windowLoss = 0;
  let windowTargets = 0;
  let windowStart = performance.now();
  let windowTokens = 0;
  let lastLoss = NaN;
  let aborted = false;
  const runStart = performance.now();
  const startStep = step;
  let runTokens = 0;
  try {
    for (let epoch = 0, epochStart = 0; step < totalSteps; epochStart += stepsIn(epoch), epoch++) {
      if (epochStart + stepsIn(epoch) <= step) continue; // resuming: a whole epoch already taken
      const batches = epochBatches(epoch);
      for (let first = 0; first < batches.length && step < totalSteps; first += o.gradAccum) {
        if (epochStart + first / o.gradAccum < step) continue; // resuming: steps already taken
        if (o.signal?.aborted) {
          aborted = true;
          break;
        }
        const group = batches.slice(first, first + o.gradAccum);
        const counts = group.map(countTargets);
        const n = counts.reduce((a, b) => a + b, 0);
        let stepLoss = 0;
        for (let k = 0; k < group.length; k++) {
          if (counts[k] === 0) continue;
          const r = await trainer.trainMicroBatch(group[k]!, { lossScale: counts[k]! / n });
          stepLoss += r.loss * r.targets;
          tokens += r.tokens;
          windowTokens += r.tokens;
          padding += group[k]!.segments.filter((s) => s < 0).length;
        }
        const lr = learningRate(step, { lr: o.lr, warmupSteps: o.warmupSteps, totalSteps, kind: o.lrScheduler });
        const { gradNorm } = await trainer.optimizerStep({ lr, maxGradNorm: o.maxGradNorm, weightDecay: o.weightDecay });
        step++;
        windowLoss += stepLoss;
        windowTargets += n;
        lastLoss = n > 0 ? stepLoss / n : NaN;
        runTokens += group.reduce((a, b) => a + b.tokens.length, 0);
        const elapsed = (performance.now() - runStart) / 1000;
        o.onStep?.({
          step,
          totalSteps,
          loss: lastLoss,
          lr,
          tokensPerSec: Math.round(runTokens / elapsed),
          etaSeconds: (elapsed / (step - startStep)) * (totalSteps - step),
        });
        const evalLoss = valBatches.length > 0 && (step % evalEvery === 0 || step === totalSteps) ? await evaluate(trainer, valBatches) : undefined;
        if (step % o.loggingSteps === 0 || step === totalSteps || evalLoss !== undefined) {
          const secs = (performance.now() - windowStart) / 1000;
          const m: MetricsLine = {
            step,
            epoch: +(epoch + Math.min(1, (first + o.gradAccum) / batches.length)).toFixed(4),
            loss: windowLoss / Math.max(1, windowTargets),
            lr,
            grad_norm: gradNorm,
            tokens_per_sec: Math.round(windowTokens / secs),
            target_tokens: windowTargets,
            ...(evalLoss !== undefined ? { eval_loss: evalLoss } : {}),
          };
          fs.appendFileSync(metricsPath, JSON.stringify(m) + '\n');
          events.scalars(step, { loss: m.loss, lr: m.lr, grad_norm: m.grad_norm, ...(evalLoss !== undefined ? { eval_loss: evalLoss } : {}) });
          o.onLog?.(m);
          windowLoss = windowTargets = windowTokens = 0;
          windowStart = performance.now();
        }
        if (step % o.saveSteps === 0) await saveCheckpoint(trainer, o.out, step, o.saveTotalLimit);
      }
      if (aborted) break;
    }
    if (aborted) await saveCheckpoint(trainer, o.out, step, o.saveTotalLimit);
    const adapter = path.join(o.out, 'adapter.gguf');
    await trainer.saveAdapter(adapter);
    const lines = fs.readFileSync(metricsPath, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as MetricsLine);
    const { signal: _s, onLog: _l, onStep: _p, ...settings } = o;
    writeReport(path.join(o.out, 'report.html'), lines, { ...settings, totalSteps });
    return {
      steps: step,
      finalLoss: lastLoss,
      adapter,
      metrics: metricsPath,
      events: events.file,
      report: path.join(o.out, 'report.html'),
      tokens,
      paddingFraction: tokens ? padding / tokens : 0,
      skippedRecords,
      aborted,
    };
  } finally {
    await trainer.dispose();
  }
}

/** Mean loss over the target tokens of the validation batches (no dropout, no gradients). */
async function evaluate(trainer: Awaited<ReturnType<typeof openTrainer>>, batches: Batch[]): Promise<number> {
  let sum = 0;
  let n = 0;
  for (const b of batches) {
    const r = await trainer.evalLoss(b);
    sum += r.loss * r.targets;
    n += r.targets;
  }
  return sum / Math.max(1, n);
}

async function saveCheckpoint(
  trainer: Awaited<ReturnType<typeof openTrainer>>,
  out: string,
  step: number,
  keep: number,
): Promise<void> {
  const root = path.join(out, 'checkpoints');
  const dir = path.join(root, `checkpoint-${step}`);
  const tmp = `${dir}.tmp`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  await trainer.saveAdapter(path.join(tmp, 'adapter.gguf'));
  await trainer.saveState(path.join(tmp, 'optimizer.gguf'));
  fs.writeFileSync(path.join(tmp, 'trainer_state.json'), JSON.stringify({ global_step: step }) + '\n');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(tmp, dir);
  const all = fs
    .readdirSync(root)
    .filter((d) => /^checkpoint-\d+$/.test(d))
    .sort((a, b) => Number(a.split('-')[1]) - Number(b.split('-')[1]));
  for (const d of all.slice(0, Math.max(0, all.length - keep))) fs.rmSync(path.join(root, d), { recursive: true, force: true });
}
