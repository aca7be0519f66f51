// kill -9 at random moments (seeded), checkpoint writes and pruning included: every
// checkpoint left resumes to the adapter an uninterrupted run ends with, byte for byte, and no
// temporary file of a killed run survives the next start.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { device, runCli, signalAfterStep } from './helpers/cli.js';
import { makeFixtureModel } from './helpers/fixture-models.js';
import { repoRoot, scratchDir } from './helpers/paths.js';

const dir = scratchDir('crash');
const data = path.join(repoRoot, 'test', 'data', 'tang-32.json');
const sha = (f: string) => createHash('sha256').update(fs.readFileSync(f)).digest('hex');
const STEPS = 8;

function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

const checkpoints = (out: string) =>
  fs.existsSync(path.join(out, 'checkpoints'))
    ? fs.readdirSync(path.join(out, 'checkpoints')).filter((d) => /^checkpoint-\d+$/.test(d)).sort((a, b) => Number(a.slice(11)) - Number(b.slice(11)))
    : [];
const temps = (out: string) => [out, path.join(out, 'checkpoints')].flatMap((d) => (fs.existsSync(d) ? fs.readdirSync(d) : []).filter((f) => /\.tmp-\d+$/.test(f)));

test('every checkpoint a kill -9 leaves resumes to the uninterrupted adapter; no temporary file survives the next start', async (t) => {
  const model = await makeFixtureModel(dir, 'f32');
  const args = (out: string) => ['--model', model, '--data', data, '--out', out, '--device', device, '--micro-batch-size', '2', '--grad-accum', '2',
    '--warmup-steps', '2', '--lr', '1e-2', '--max-steps', String(STEPS), '--logging-steps', '1', '--save-steps', '1', '--save-total-limit', '2'];
  const whole = path.join(dir, 'whole');
  assert.equal(runCli('train', ...args(whole)).status, 0);
  const want = sha(path.join(whole, 'adapter.gguf'));

  const seed = 20261201;
  const rand = rng(seed);
  const out = path.join(dir, 'killed');
  const left = new Set<string>();
  let kills = 0;
  // kills after steps 2, 4 and 6 (or the next step a resume reaches), 0-40 ms late: some land
  // in a checkpoint's write or its pruning; then a run to the end
  for (const target of [2, 4, 6, STEPS]) {
    const last = checkpoints(out).at(-1);
    const resume = last ? ['--resume', path.join(out, 'checkpoints', last)] : [];
    if (!last) fs.rmSync(out, { recursive: true, force: true }); // killed before its first checkpoint: start over
    if (target === STEPS) {
      const r = runCli('train', ...args(out), ...resume);
      assert.equal(r.status, 0, r.stderr);
      break;
    }
    const from = last ? Number(last.slice(11)) : 0;
    await signalAfterStep([...args(out), ...resume], Math.max(target, from + 1), 'SIGKILL', Math.floor(rand() * 40));
    kills++;
    // every complete checkpoint left now (not checked before) resumes to the uninterrupted adapter
    for (const c of checkpoints(out)) {
      const id = `${sha(path.join(out, 'checkpoints', c, 'optimizer.gguf'))} ${c}`;
      if (left.has(id)) continue;
      left.add(id);
      const copy = path.join(dir, `copy-${kills}-${c}`);
      fs.cpSync(out, copy, { recursive: true });
      const r = runCli('train', ...args(copy), '--resume', path.join(copy, 'checkpoints', c));
      assert.equal(r.status, 0, `${c} after kill ${kills}: ${r.stderr}`);
      assert.equal(sha(path.join(copy, 'adapter.gguf')), want, `resumed from ${c} after kill ${kills}: the same adapter`);
      assert.deepEqual(temps(copy), [], `no temporary file after resuming from ${c}`);
      fs.rmSync(copy, { recursive: true, force: true });
    }
  }
  t.diagnostic(`seed ${seed}: ${kills} kills, ${left.size} checkpoints checked`);
  assert.ok(left.size >= 3, `${left.size} checkpoints checked`);
  assert.equal(sha(path.join(out, 'adapter.gguf')), want);
  assert.deepEqual(temps(out), []);
});
