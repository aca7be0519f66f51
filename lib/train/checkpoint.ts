// Checkpoints: checkpoints/checkpoint-<step>/ holds adapter.gguf, optimizer.gguf (A, B and the
// AdamW moments) and trainer_state.json (the step, the run's settings, fingerprints of its data
// and model). A checkpoint is written into "<name>.tmp-<pid>" and renamed, so a kill leaves
// either the whole checkpoint or a temporary folder the next run removes; the oldest beyond
// --save-total-limit are then removed, each renamed away first for the same reason. On --resume every file is checked against the others and
// the settings against this run's before anything is written.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { tempName } from '../atomic-write.js';
import type { Trainer } from '../engine/trainer.js';
import { flagName } from '../options.js';
import { TRAIN_OPTIONS, type TrainSettings } from './options.js';

export interface TrainerState {
  global_step: number; // optimizer steps taken
  total_steps: number; // the run's planned steps
  settings: Record<string, unknown>; // every option a resume compares (TRAIN_OPTIONS' `resume`)
  data_sha256: string;
  model_fingerprint: string;
}

export interface Checkpoint {
  dir: string;
  state: TrainerState;
}

const STATE = 'trainer_state.json';
const ADAPTER = 'adapter.gguf';
const OPTIMIZER = 'optimizer.gguf';

/** The options a resume compares, with this run's values. */
export function resumeSettings(o: TrainSettings): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, s] of Object.entries(TRAIN_OPTIONS)) if ('resume' in s) out[k] = (o as Record<string, unknown>)[k] ?? null;
  return out;
}

export function sha256File(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** A model's identity without reading gigabytes: its size, first and last 16 MiB. */
export function modelFingerprint(file: string): string {
  const span = 16 << 20;
  const size = fs.statSync(file).size;
  const h = createHash('sha256').update(String(size));
  const parts = size > 2 * span ? [[0, span], [size - span, span]] : [[0, size]];
  const fd = fs.openSync(file, 'r');
  try {
    for (const [at, length] of parts) {
      const buf = Buffer.alloc(length!);
      fs.readSync(fd, buf, 0, length!, at!);
      h.update(buf);
    }
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex');
}

/** Writes checkpoint-<step> atomically, then keeps the newest `keep`. */
export async function saveCheckpoint(trainer: Trainer, root: string, state: TrainerState, keep: number): Promise<void> {
  const dir = path.join(root, `checkpoint-${state.global_step}`);
  const tmp = tempName(dir);
  fs.mkdirSync(tmp, { recursive: true });
  try {
    await trainer.saveAdapter(path.join(tmp, ADAPTER));
    await trainer.saveState(path.join(tmp, OPTIMIZER));
    fs.writeFileSync(path.join(tmp, STATE), JSON.stringify(state, null, 2) + '\n');
    remove(dir);
    fs.renameSync(tmp, dir);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  const all = fs
    .readdirSync(root)
    .filter((d) => /^checkpoint-\d+$/.test(d))
    .sort((a, b) => Number(a.split('-')[1]) - Number(b.split('-')[1]));
  for (const d of all.slice(0, Math.max(0, all.length - keep))) remove(path.join(root, d));
}

// A checkpoint goes whole: renamed to a temporary name first, so a kill while its files are
// deleted leaves no half checkpoint under its own name (the next start removes the rest).
function remove(dir: string): void {
  if (!fs.existsSync(dir)) return;
  const doomed = tempName(`${dir}.old`);
  fs.renameSync(dir, doomed);
  fs.rmSync(doomed, { recursive: true, force: true });
}

/** A checkpoint folder's files, present and of the right shape; errors name the file. */
export function readCheckpoint(dir: string): Checkpoint {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new Error(`checkpoint '${dir}' is not a folder`);
  for (const f of [STATE, ADAPTER, OPTIMIZER]) {
    if (!fs.existsSync(path.join(dir, f))) throw new Error(`checkpoint '${dir}' lacks ${f}`);
  }
  const file = path.join(dir, STATE);
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`'${file}' is not valid JSON: ${(e as Error).message.split('\n')[0]}`);
  }
  const s = raw as Partial<TrainerState>;
  const bad = (what: string) => new Error(`'${file}': ${what}`);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw bad('not a JSON object');
  if (!Number.isInteger(s.global_step) || s.global_step! < 1) throw bad(`global_step must be an integer >= 1, got ${JSON.stringify(s.global_step)}`);
  if (!Number.isInteger(s.total_steps) || s.total_steps! < s.global_step!) throw bad(`total_steps must be an integer >= global_step, got ${JSON.stringify(s.total_steps)}`);
  if (typeof s.settings !== 'object' || s.settings === null || Array.isArray(s.settings)) throw bad('settings are missing (a checkpoint of an older tang-lora?)');
  if (typeof s.data_sha256 !== 'string' || typeof s.model_fingerprint !== 'string') throw bad('the data and model fingerprints are missing');
  return { dir, state: s as TrainerState };
}

/**
 * This run's settings against the checkpoint's: what changes the data order or the past steps'
 * math must match; a changed schedule needs `newSchedule` and is returned as notices.
 */
export function compareSettings(c: Checkpoint, now: TrainerState, newSchedule: boolean): string[] {
  if (now.data_sha256 !== c.state.data_sha256) throw new Error(`--resume: --data is not the data of checkpoint '${c.dir}' (its contents differ)`);
  if (now.model_fingerprint !== c.state.model_fingerprint) throw new Error(`--resume: --model is not the model of checkpoint '${c.dir}'`);
  const changed: string[] = [];
  for (const [k, s] of Object.entries(TRAIN_OPTIONS)) {
    if (!('resume' in s)) continue;
    const [was, is] = [c.state.settings[k] ?? null, now.settings[k] ?? null];
    if (isDeepStrictEqual(was, is)) continue;
    const change = `--${flagName(k)} ${JSON.stringify(was)} -> ${JSON.stringify(is)}`;
    if (s.resume === 'same') throw new Error(`--resume: ${change} differs from checkpoint '${c.dir}'; a resumed run needs the same value`);
    changed.push(change);
  }
  if (now.total_steps !== c.state.total_steps) changed.push(`${c.state.total_steps} -> ${now.total_steps} steps in all`);
  if (changed.length > 0 && !newSchedule) {
    throw new Error(`--resume: the schedule differs from checkpoint '${c.dir}' (${changed.join(', ')}); pass --new-schedule to continue with it`);
  }
  if (c.state.global_step > now.total_steps) {
    throw new Error(`--resume: checkpoint '${c.dir}' is at step ${c.state.global_step}, past this run's ${now.total_steps} steps`);
  }
  return changed.map((x) => `resuming with a changed schedule (${x}): the run is no longer the same as an uninterrupted one`);
}

/** Loads the checkpoint's optimizer state and checks its step and its adapter against it. */
export async function restoreCheckpoint(trainer: Trainer, c: Checkpoint): Promise<void> {
  await trainer.loadState(path.join(c.dir, OPTIMIZER));
  const { step } = await trainer.info();
  if (step !== c.state.global_step) {
    throw new Error(`checkpoint '${c.dir}': ${STATE} says step ${c.state.global_step}, ${OPTIMIZER} holds step ${step}`);
  }
  await trainer.checkAdapter(path.join(c.dir, ADAPTER));
}
