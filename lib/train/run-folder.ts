// The output folder of a run. A run writes only these there: adapter.gguf, metrics.jsonl,
// report.html, events.out.tfevents.*, checkpoints/, and with test prompts results.txt,
// results.jsonl, eval.json and results-base/ (and "<name>.tmp-<pid>" while writing).
// --overwrite removes exactly those, never anything else and never an input of the same
// command. A run that fails before its first checkpoint removes what it made; one that saved a
// checkpoint leaves it for --resume. Temporary files of dead runs are removed at the start.
import fs from 'node:fs';
import path from 'node:path';
import { removeDeadTemps } from '../atomic-write.js';

const isRunOutput = (name: string) =>
  ['adapter.gguf', 'metrics.jsonl', 'report.html', 'checkpoints', 'results.txt', 'results.jsonl', 'eval.json', 'results-base'].includes(name) ||
  name.startsWith('events.out.tfevents.');

const inside = (file: string, dir: string) => {
  const rel = path.relative(dir, file);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
};

export interface FolderPlan {
  overwrite: boolean;
  resuming: boolean;
  inputs: string[]; // files this command reads (model, data, checkpoint)
}

/** Checks that the run may write into `dir`, touching nothing; throws one line naming why not. */
export function checkRunFolder(dir: string, p: FolderPlan): void {
  if (p.overwrite && p.resuming) throw new Error('--overwrite and --resume exclude each other: a resumed run continues in --out');
  if (!fs.existsSync(dir)) return;
  if (!fs.statSync(dir).isDirectory()) throw new Error(`--out '${dir}' is a file, not a folder`);
  const outputs = fs.readdirSync(dir).filter(isRunOutput);
  if (outputs.length === 0 || p.resuming) return;
  if (!p.overwrite) throw new Error(`output folder '${dir}' holds another run; pass --overwrite to replace its files (${outputs.join(', ')})`);
  const real = (f: string) => (fs.existsSync(f) ? fs.realpathSync(f) : path.resolve(f));
  for (const input of p.inputs) {
    if (outputs.some((o) => inside(real(input), real(path.join(dir, o))))) {
      throw new Error(`--overwrite would remove '${input}', which this run reads; move it out of '${dir}' or choose another --out`);
    }
  }
}

/** The run's folder, made ready (checked with checkRunFolder first); tracks what the run made. */
export class RunFolder {
  readonly dir: string;
  readonly checkpoints: string;
  #madeDir: boolean;
  #before: Set<string>;

  constructor(dir: string, p: FolderPlan) {
    checkRunFolder(dir, p);
    this.dir = dir;
    this.checkpoints = path.join(dir, 'checkpoints');
    this.#madeDir = !fs.existsSync(dir);
    fs.mkdirSync(dir, { recursive: true });
    if (p.overwrite) for (const o of fs.readdirSync(dir).filter(isRunOutput)) fs.rmSync(path.join(dir, o), { recursive: true, force: true });
    removeDeadTemps(dir, isRunOutput);
    removeDeadTemps(this.checkpoints, (name) => /^checkpoint-\d+(\.old)?$/.test(name));
    this.#before = new Set(fs.readdirSync(dir));
  }

  file(name: string): string {
    return path.join(this.dir, name);
  }

  /** After a failure: unless a checkpoint is there to resume from, remove what this run made. */
  failed(): void {
    const saved = fs.existsSync(this.checkpoints) && fs.readdirSync(this.checkpoints).some((d) => /^checkpoint-\d+$/.test(d));
    if (saved) return;
    for (const name of fs.readdirSync(this.dir)) {
      if (!this.#before.has(name) && isRunOutput(name)) fs.rmSync(this.file(name), { recursive: true, force: true });
    }
    if (this.#madeDir && fs.readdirSync(this.dir).length === 0) fs.rmdirSync(this.dir);
  }
}
