// Files written whole or not at all: a temporary file beside the target ("<file>.tmp-<pid>",
// as the native writer names its own, so a later run can tell a dead run's leftovers), then a
// rename.
import fs from 'node:fs';
import path from 'node:path';

export const tempName = (file: string) => `${file}.tmp-${process.pid}`;

export function writeFileAtomic(file: string, body: string): void {
  const tmp = tempName(file);
  try {
    fs.writeFileSync(tmp, body);
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

/** Removes "<name>.tmp-<pid>" files and folders in `dir` whose process is gone and whose
 * <name> is ours (`ours(name)`): a user's own file that only looks like one is left alone. */
export function removeDeadTemps(dir: string, ours: (name: string) => boolean): void {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const m = /^(.*)\.tmp-(\d+)$/.exec(name);
    if (m && ours(m[1]!) && !alive(Number(m[2]))) fs.rmSync(path.join(dir, name), { recursive: true, force: true });
  }
}

function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Throws one line unless `file` can be written: not a folder, and its folder exists or can be made. */
export function checkWritable(file: string, what = 'output file'): void {
  if (fs.existsSync(file) && fs.statSync(file).isDirectory()) throw new Error(`${what} '${file}' is a folder`);
  let dir = path.dirname(path.resolve(file));
  while (!fs.existsSync(dir)) dir = path.dirname(dir);
  if (!fs.statSync(dir).isDirectory()) throw new Error(`cannot write '${file}': '${dir}' is not a folder`);
  try {
    fs.accessSync(dir, fs.constants.W_OK);
  } catch {
    throw new Error(`cannot write '${file}': the folder '${dir}' is not writable`);
  }
}

/** Throws one line if `out` is one of the files the command reads. */
export function checkNotInput(out: string, inputs: string[]): void {
  const real = (f: string) => (fs.existsSync(f) ? fs.realpathSync(f) : path.resolve(f));
  const hit = inputs.find((i) => fs.existsSync(i) && real(i) === real(out));
  if (hit) throw new Error(`the output '${out}' is '${hit}', which this command reads; choose another output`);
}
