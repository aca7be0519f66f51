// A seeded fuzz of the CLI on tiny models, bounded in runs and time: corrupted GGUF models and
// adapters, corrupted checkpoint files, random flag values. Every run must end as a user can
// act on: an exit status below 128 (no signal, no native abort), on failure one line on stderr
// and no stack trace, and no file changed outside its --out.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { CREATE_MODEL_OPTIONS, DATA_OPTIONS, flagName, GENERATION_OPTIONS, openTrainer, TRAIN_OPTIONS, type OptionTable } from '../lib/index.js';
import { device, runCli, runCliWith } from './helpers/cli.js';
import { makeFixtureModel } from './helpers/fixture-models.js';
import { repoRoot, scratchDir } from './helpers/paths.js';

const RUNS = 80;
const SECONDS = 120;
const SEED = Number(process.env.TANG_LORA_FUZZ_SEED ?? 13);

function rng(seed: number) {
  let s = seed >>> 0;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  return { next, int: (n: number) => Math.floor(next() * n), pick: <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)]! };
}

function snapshot(root: string, skip: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const f = path.join(d, e.name);
      if (f === skip) continue;
      if (e.isDirectory()) walk(f);
      else out.set(path.relative(root, f), createHash('sha256').update(fs.readFileSync(f)).digest('hex'));
    }
  };
  walk(root);
  return out;
}

/** A copy of `file` with a random corruption: truncated, bytes flipped in the header or anywhere, a count blown up. */
function corrupt(file: string, to: string, r: ReturnType<typeof rng>): string {
  const b = Buffer.from(fs.readFileSync(file));
  switch (r.int(4)) {
    case 0:
      fs.writeFileSync(to, b.subarray(0, r.int(b.length)));
      return `${path.basename(file)} truncated`;
    case 1:
      for (let k = 0; k < 1 + r.int(8); k++) b[r.int(Math.min(b.length, 4096))] = r.int(256);
      break;
    case 2:
      for (let k = 0; k < 1 + r.int(64); k++) b[r.int(b.length)] = r.int(256);
      break;
    default:
      b.writeBigUInt64LE(BigInt(r.pick([0, 1, 2 ** 31, 2 ** 40, 2 ** 53 - 1])), r.pick([8, 16]));
  }
  fs.writeFileSync(to, b);
  return `${path.basename(file)} corrupted`;
}

const WEIRD = ['', '-1', '0', '1', '1.5', 'NaN', 'Infinity', '1e309', '-0', '1e9', '99999999999', 'x', '..', '/', '--', '自', 'a'.repeat(300), '0x10', ' 3'];

/** Random values for random options of a table. */
function randomFlags(table: OptionTable, r: ReturnType<typeof rng>): string[] {
  const keys = Object.keys(table).filter((k) => !['model', 'data', 'out', 'resume', 'device'].includes(k));
  const out: string[] = [];
  for (let k = 0; k < 1 + r.int(3); k++) out.push(`--${flagName(r.pick(keys))}`, r.pick(WEIRD));
  return out;
}

test(`fuzz: ${RUNS} runs of the CLI on corrupted files and random flags end cleanly (seed ${SEED})`, async (t) => {
  const dir = scratchDir('fuzz');
  const inputs = path.join(dir, 'inputs');
  fs.mkdirSync(inputs);
  const model = path.join(inputs, 'tiny.gguf');
  fs.copyFileSync(await makeFixtureModel(dir, 'f32'), model);
  const data = path.join(inputs, 'data.json');
  fs.copyFileSync(path.join(repoRoot, 'test', 'data', 'tang-32.json'), data);
  const adapter = path.join(inputs, 'adapter.gguf');
  const tr = await openTrainer(model, { rank: 2 }, { device: 'cpu' });
  await tr.saveAdapter(adapter);
  await tr.dispose();
  const run = path.join(inputs, 'run');
  const trainArgs = (out: string) => ['--model', model, '--data', data, '--out', out, '--device', device, '--micro-batch-size', '2', '--grad-accum', '1', '--max-steps', '2', '--save-steps', '1'];
  assert.equal(runCli('train', ...trainArgs(run)).status, 0);
  const checkpoint = path.join(run, 'checkpoints', 'checkpoint-1');

  const r = rng(SEED);
  const start = Date.now();
  let runs = 0;
  const seen: Record<string, number> = {};
  for (; runs < RUNS && (Date.now() - start) / 1000 < SECONDS; runs++) {
    const work = path.join(dir, `case-${runs}`);
    fs.mkdirSync(work);
    const out = path.join(work, 'out');
    let args: string[];
    let what: string;
    switch (r.int(5)) {
      case 0: {
        what = corrupt(model, path.join(work, 'model.gguf'), r);
        args = r.pick([
          ['inspect', path.join(work, 'model.gguf')],
          ['generate', '--model', path.join(work, 'model.gguf'), '--prompt', '白日依山盡', '--max-new-tokens', '2', '--device', device],
          ['train', ...trainArgs(out).map((a) => (a === model ? path.join(work, 'model.gguf') : a))],
          ['quantize', path.join(work, 'model.gguf'), path.join(out, 'q.gguf'), '--type', 'q8_0'],
        ]);
        break;
      }
      case 1:
        what = corrupt(adapter, path.join(work, 'adapter.gguf'), r);
        args = ['generate', '--model', model, '--lora', path.join(work, 'adapter.gguf'), '--prompt', '白日依山盡', '--max-new-tokens', '2', '--device', device];
        break;
      case 2: {
        const copy = path.join(out, 'checkpoints', 'checkpoint-1');
        fs.cpSync(run, out, { recursive: true });
        const file = r.pick(['trainer_state.json', 'optimizer.gguf', 'adapter.gguf']);
        if (file === 'trainer_state.json' && r.next() < 0.5) {
          const state = JSON.parse(fs.readFileSync(path.join(checkpoint, file), 'utf8'));
          const key = r.pick(Object.keys(state));
          state[key] = r.pick([null, -1, 0, 2.5, 1e9, 'x', [], {}, true]);
          fs.writeFileSync(path.join(copy, file), JSON.stringify(state));
          what = `trainer_state.json ${key} changed`;
        } else {
          what = corrupt(path.join(checkpoint, file), path.join(copy, file), r);
        }
        args = ['train', ...trainArgs(out), '--resume', copy];
        break;
      }
      case 3:
        what = 'train flags';
        args = ['train', ...trainArgs(out), ...randomFlags(TRAIN_OPTIONS, r)];
        break;
      default: {
        const [cmd, table] = r.pick([['generate', GENERATION_OPTIONS], ['data', DATA_OPTIONS], ['create-model', CREATE_MODEL_OPTIONS]] as const);
        what = `${cmd} flags`;
        const base = cmd === 'generate' ? ['--model', model, '--prompt', '白日依山盡', '--max-new-tokens', '2', '--device', device] : ['--out', path.join(out, cmd === 'data' ? 'd' : 'm.gguf')];
        args = [cmd, ...base, ...randomFlags(table, r)];
      }
    }
    seen[what.split(' ').slice(-1)[0]!] = (seen[what.split(' ').slice(-1)[0]!] ?? 0) + 1;
    const before = snapshot(dir, out);
    const res = runCliWith({ timeoutMs: 60000 }, ...args);
    const label = `case ${runs} (${what}): tang-lora ${args.join(' ').slice(0, 300)}`;
    assert.equal(res.signal, null, `${label}: killed by ${res.signal}`);
    assert.ok(res.status !== null && res.status < 128, `${label}: exit ${res.status}`);
    if (res.status !== 0) {
      assert.equal(res.stderr.trim().split('\n').length, 1, `${label}: one line: ${res.stderr}`);
      assert.doesNotMatch(res.stderr, /^\s+at |GGML_ASSERT|terminate called|Aborted|core dumped/m, `${label}: ${res.stderr}`);
    }
    const after = snapshot(dir, out);
    assert.deepEqual([...after.entries()].filter(([f]) => !before.has(f) && !f.startsWith(`case-${runs}/out`)), [], `${label}: no new file outside --out`);
    for (const [f, h] of before) assert.equal(after.get(f), h, `${label}: ${f} unchanged`);
    fs.rmSync(work, { recursive: true, force: true });
  }
  t.diagnostic(`${runs} runs in ${((Date.now() - start) / 1000).toFixed(0)} s: ${JSON.stringify(seen)}`);
  assert.ok(runs >= 20, `${runs} runs`);
});
