// The training run: records -> tokenized samples -> (packed) micro-batches -> optimizer steps
// with gradient accumulation, the learning-rate schedule, logging, checkpoints, resume.
// In this order, so a bad input never leaves anything behind: the options are checked
// (options.ts), the run is planned (data, batches, steps; nothing written), a checkpoint is
// checked against this run, the model is loaded; only then is the output folder made and the
// steps taken. Defaults are the reference recipe's (../shared/spec/recipe.md).
import fs from 'node:fs';
import { checkRegularFile, loadRecords } from '../data/records.js';
import { applyMemoryPlan, checkPlanChoice, describePlan } from '../engine/memory-plan.js';
import { countTargets, openTrainer, type Batch, type Trainer } from '../engine/trainer.js';
import { openTokenizer } from '../model/tokenizer.js';
import { errorLine } from '../fs-errors.js';
import { resolveOptions } from '../options.js';
import { compareSettings, modelFingerprint, readCheckpoint, resumeSettings, restoreCheckpoint, saveCheckpoint, sha256File, type TrainerState } from './checkpoint.js';
import { TRAIN_OPTIONS, type TrainSettings } from './options.js';
import { checkRunFolder, RunFolder } from './run-folder.js';
import { learningRate } from './schedule.js';
import { packBatches, tokenizeSample, type Sample } from './samples.js';
import { writeReport, type RunSummary, type TestResults } from './report.js';
import { info as systemInfo, inspect } from '../system.js';
import { EventWriter } from './tfevents.js';
import { shuffled } from '../data/shuffle.js';
import { promptTemplate } from '../data/template.js';

export { TRAIN_DEFAULTS } from './options.js';

export interface TrainOptions extends TrainSettings {
  model: string;
  data: string;
  out: string;
  signal?: AbortSignal;
  onLog?: (m: MetricsLine) => void;
  onStep?: (p: StepProgress) => void;
  onNotice?: (line: string) => void; // a line the user should see (a changed schedule on resume)
  onPlan?: (line: string) => void; // the memory plan, once, before the first step
  /** Test prompts (recipe.ts): an input of the run; `run` goes once the adapter is saved and the
   * trainer's memory is free, and its poems go into the report. */
  testPrompts?: { file: string; run: (adapter: string) => Promise<TestResults> };
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

type Resolved = Required<Omit<TrainSettings, 'numTrainData' | 'evalSteps' | 'resume'>> &
  Pick<TrainSettings, 'numTrainData' | 'evalSteps' | 'resume'> & Omit<TrainOptions, keyof TrainSettings>;

/** What the run will do, from its data: no file is written and no model loaded for it. */
interface Plan {
  epochBatches: (epoch: number) => Batch[]; // each epoch packs its own shuffle
  stepsIn: (epoch: number) => number;
  totalSteps: number;
  valBatches: Batch[];
  skippedRecords: number[];
  records: number;
}

async function plan(o: Resolved): Promise<Plan> {
  let records = loadRecords(o.data);
  if (o.numTrainData !== undefined) records = records.slice(0, o.numTrainData);
  const tok = await openTokenizer(o.model);
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
  const kept = samples.filter((_, i) => !skippedRecords.includes(i));
  if (o.valSetSize >= kept.length) throw new Error(`val set size ${o.valSetSize} leaves no training records out of ${kept.length}`);
  // The validation split: a seeded shuffle, the last valSetSize samples held out.
  const order = shuffled(kept, o.seed ^ 0x5eed);
  const train = o.valSetSize > 0 ? order.slice(0, order.length - o.valSetSize) : kept;
  const pack = (s: Sample[]) => packBatches(s, { rowLen: o.cutoffLen, rows: o.microBatchSize, pad: tok.eos, packing: o.packing });
  const packed: Batch[][] = [];
  const epochBatches = (epoch: number) => (packed[epoch] ??= pack(shuffled(train, o.seed + epoch)));
  const stepsIn = (epoch: number) => Math.ceil(epochBatches(epoch).length / o.gradAccum);
  const whole = Math.floor(o.epochs);
  const totalSteps =
    o.maxSteps > 0
      ? o.maxSteps
      : Array.from({ length: whole }, (_, e) => stepsIn(e)).reduce((a, b) => a + b, 0) + Math.ceil((o.epochs - whole) * stepsIn(whole));
  return { epochBatches, stepsIn, totalSteps, valBatches: pack(order.slice(order.length - o.valSetSize)), skippedRecords, records: records.length };
}

/** metrics.jsonl, the TensorBoard events and onLog: one line per logged step. */
class Log {
  readonly metrics: string;
  readonly events: EventWriter;
  #loss = 0;
  #targets = 0;
  #tokens = 0;
  #since = performance.now();

  constructor(folder: RunFolder, resumedAt: number, private readonly onLog?: (m: MetricsLine) => void) {
    this.metrics = folder.file('metrics.jsonl');
    // a resumed run keeps the lines of the steps it does not repeat
    const kept = resumedAt > 0 && fs.existsSync(this.metrics) ? fs.readFileSync(this.metrics, 'utf8').split('\n').filter(Boolean) : [];
    const before = (l: string) => {
      try {
        return JSON.parse(l).step <= resumedAt;
      } catch {
        return false; // a line a killed run left half-written
      }
    };
    fs.writeFileSync(this.metrics, kept.filter(before).map((l) => l + '\n').join(''));
    this.events = new EventWriter(folder.dir);
  }

  add(loss: number, targets: number, tokens: number): void {
    this.#loss += loss;
    this.#targets += targets;
    this.#tokens += tokens;
  }

  write(m: Omit<MetricsLine, 'loss' | 'tokens_per_sec' | 'target_tokens'>): void {
    const line: MetricsLine = {
      ...m,
      loss: this.#loss / Math.max(1, this.#targets),
      tokens_per_sec: Math.round(this.#tokens / ((performance.now() - this.#since) / 1000)),
      target_tokens: this.#targets,
    };
    fs.appendFileSync(this.metrics, JSON.stringify(line) + '\n');
    const evalLoss: Record<string, number> = line.eval_loss !== undefined ? { eval_loss: line.eval_loss } : {};
    this.events.scalars(line.step, { loss: line.loss, lr: line.lr, grad_norm: line.grad_norm, ...evalLoss });
    this.onLog?.(line);
    this.#loss = this.#targets = this.#tokens = 0;
    this.#since = performance.now();
  }

  lines(): MetricsLine[] {
    return fs.readFileSync(this.metrics, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as MetricsLine);
  }
}

/** One optimizer step's micro-batches, forward and backward, HF loss normalization. */
async function accumulate(trainer: Trainer, group: Batch[]) {
  const counts = group.map(countTargets);
  const targets = counts.reduce((a, b) => a + b, 0);
  let loss = 0;
  let tokens = 0;
  let padding = 0;
  for (let k = 0; k < group.length; k++) {
    if (counts[k] === 0) continue;
    const r = await trainer.trainMicroBatch(group[k]!, { lossScale: counts[k]! / targets });
    loss += r.loss * r.targets;
    tokens += r.tokens;
    padding += group[k]!.segments.filter((s) => s < 0).length;
  }
  return { loss, targets, tokens, padding };
}

export async function train(options: TrainOptions): Promise<TrainResult> {
  const { signal, onLog, onStep, onNotice, onPlan, testPrompts, ...given } = options;
  for (const k of ['model', 'data', 'out'] as const) if (given[k] === undefined) throw new Error(`--${k} is required`);
  const o = { ...resolveOptions(TRAIN_OPTIONS, given), signal, onLog, onStep, onNotice } as Resolved;
  checkRegularFile(o.model, 'model file');
  checkPlanChoice(o);
  const checkpoint = o.resume ? readCheckpoint(o.resume) : undefined;
  const p = await plan(o);
  const identity: TrainerState = {
    global_step: 0, total_steps: p.totalSteps, settings: resumeSettings(o), data_sha256: sha256File(o.data), model_fingerprint: modelFingerprint(o.model),
  };
  const notices = checkpoint ? compareSettings(checkpoint, identity, o.newSchedule) : [];
  const folderPlan = { overwrite: o.overwrite, resuming: checkpoint !== undefined, inputs: [o.model, o.data, ...(o.resume ? [o.resume] : []), ...(testPrompts ? [testPrompts.file] : [])] };
  checkRunFolder(o.out, folderPlan);

  const gguf = await inspect(o.model);
  const modelType = `${gguf.architecture}; ${Object.entries(gguf.tensorTypes).sort((a, b) => b[1] - a[1]).map(([t, n]) => `${t} x${n}`).join(', ')}`;
  const trainer = await openTrainer(
    o.model,
    { rank: o.loraR, alpha: o.loraAlpha, dropout: o.loraDropout, targets: o.targetModules, seed: o.seed },
    { device: o.device },
  );
  let done: Awaited<ReturnType<typeof run>>;
  try {
    // sized for the largest micro-batch a run can have: --micro-batch-size rows of --cutoff-len tokens
    const memoryPlan = describePlan(await applyMemoryPlan(trainer, { ...o, rows: o.microBatchSize, len: o.cutoffLen }));
    onPlan?.(memoryPlan);
    if (checkpoint) await restoreCheckpoint(trainer, checkpoint);
    for (const n of notices) o.onNotice?.(n);
    const folder = new RunFolder(o.out, folderPlan);
    try {
      done = await run(trainer, o, p, folder, identity, checkpoint?.state.global_step ?? 0, { modelType, memoryPlan }, testPrompts !== undefined);
    } catch (e) {
      folder.failed();
      throw new Error(errorLine(e, folder.dir));
    }
  } finally {
    await trainer.dispose();
  }
  if (!testPrompts || done.result.aborted) return done.result;
  let tests: TestResults | undefined;
  try {
    tests = await testPrompts.run(done.result.adapter);
  } catch (e) {
    throw new Error(`training finished (adapter ${done.result.adapter}), but the test prompts failed: ${errorLine(e, o.out)}`);
  } finally {
    done.summary.state = 'finished';
    done.report(tests);
  }
  return done.result;
}

async function run(
  trainer: Trainer, o: Resolved, p: Plan, folder: RunFolder, identity: TrainerState, startStep: number,
  about: Pick<RunSummary, 'modelType' | 'memoryPlan'>, testsFollow: boolean,
) {
  const log = new Log(folder, startStep, o.onLog);
  const { signal: _s, onLog: _l, onStep: _p, onNotice: _n, ...settings } = o;
  const info = await trainer.info();
  const device = (await systemInfo()).devices.find((d) => d.name === info.device);
  const summary: RunSummary = {
    state: 'running', model: o.model, ...about, data: o.data, records: p.records, started: new Date(),
    device: device ? `${device.name} (${device.description})` : info.device,
    steps: startStep, totalSteps: p.totalSteps, tokensPerSec: 0, padding: 0,
    memoryBytes: { weights: info.weightBytes, lora: 16 * info.loraParams, compute: info.peakComputeBytes }, // LoRA: a, b, grads, m, v in f32
  };
  const report = (tests?: TestResults) => writeReport(folder.file('report.html'), summary, log.lines(), settings, tests);
  try {
    const evalEvery = o.evalSteps ?? o.loggingSteps;
    const checkpoint = (step: number) => saveCheckpoint(trainer, folder.checkpoints, { ...identity, global_step: step }, o.saveTotalLimit);
    let [step, tokens, padding, lastLoss, aborted, runTokens] = [startStep, 0, 0, NaN, false, 0];
    const runStart = performance.now();
    for (let epoch = 0, epochStart = 0; step < p.totalSteps && !aborted; epochStart += p.stepsIn(epoch), epoch++) {
      if (epochStart + p.stepsIn(epoch) <= step) continue; // resuming: a whole epoch already taken
      const batches = p.epochBatches(epoch);
      for (let first = Math.max(0, step - epochStart) * o.gradAccum; first < batches.length && step < p.totalSteps; first += o.gradAccum) {
        if (o.signal?.aborted) {
          aborted = true;
          break;
        }
        const group = batches.slice(first, first + o.gradAccum);
        const r = await accumulate(trainer, group);
        const lr = learningRate(step, { lr: o.lr, warmupSteps: o.warmupSteps, totalSteps: p.totalSteps, kind: o.lrScheduler });
        const { gradNorm } = await trainer.optimizerStep({ lr, maxGradNorm: o.maxGradNorm, weightDecay: o.weightDecay });
        step++;
        [tokens, padding, lastLoss] = [tokens + r.tokens, padding + r.padding, r.targets > 0 ? r.loss / r.targets : NaN];
        log.add(r.loss, r.targets, r.tokens);
        runTokens += group.reduce((a, b) => a + b.tokens.length, 0);
        const elapsed = (performance.now() - runStart) / 1000;
        o.onStep?.({
          step, totalSteps: p.totalSteps, loss: lastLoss, lr,
          tokensPerSec: Math.round(runTokens / elapsed), etaSeconds: (elapsed / (step - startStep)) * (p.totalSteps - step),
        });
        const evalLoss = p.valBatches.length > 0 && (step % evalEvery === 0 || step === p.totalSteps) ? await validationLoss(trainer, p.valBatches) : undefined;
        // step 1 too, so the curves start where the run does
        if (step === 1 || step % o.loggingSteps === 0 || step === p.totalSteps || evalLoss !== undefined) {
          const epochAt = +(epoch + Math.min(1, (first + o.gradAccum) / batches.length)).toFixed(4);
          log.write({ step, epoch: epochAt, lr, grad_norm: gradNorm, ...(evalLoss !== undefined ? { eval_loss: evalLoss } : {}) });
          Object.assign(summary, { steps: step, tokensPerSec: Math.round(runTokens / elapsed), padding: tokens ? padding / tokens : 0 });
          summary.memoryBytes.compute = (await trainer.info()).peakComputeBytes;
          report();
        }
        if (step % o.saveSteps === 0) await checkpoint(step);
      }
    }
    if (aborted && step === startStep) throw new Error('interrupted before the first step; nothing was saved');
    if (aborted) await checkpoint(step);
    const adapter = folder.file('adapter.gguf');
    await trainer.saveAdapter(adapter);
    Object.assign(summary, { state: aborted ? 'interrupted' : testsFollow ? 'testing prompts' : 'finished', ended: new Date(), steps: step, adapter });
    report();
    const result: TrainResult = {
      steps: step, finalLoss: lastLoss, adapter, metrics: log.metrics, events: log.events.file, report: folder.file('report.html'),
      tokens, paddingFraction: tokens ? padding / tokens : 0, skippedRecords: p.skippedRecords, aborted,
    };
    return { result, report, summary };
  } catch (e) {
    // a report left beside a checkpoint says the run failed (and stops reloading)
    Object.assign(summary, { state: 'failed', ended: new Date() });
    if (fs.existsSync(folder.file('report.html'))) report();
    throw e;
  }
}

/** Mean loss over the target tokens of the validation batches (no dropout, no gradients). */
async function validationLoss(trainer: Trainer, batches: Batch[]): Promise<number> {
  let sum = 0;
  let n = 0;
  for (const b of batches) {
    const r = await trainer.evalLoss(b);
    sum += r.loss * r.targets;
    n += r.targets;
  }
  return sum / Math.max(1, n);
}
