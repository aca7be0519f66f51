// `tang-lora generate`: the 15 test prompts through libllama into the reference's results file
// and results.jsonl; one prompt to stdout; bad input is one line and a non-zero exit.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { makeFixtureModel } from './helpers/fixture-models.js';
import { cliPath, repoRoot, scratchDir } from './helpers/paths.js';

const device = process.env.TANG_LORA_DEVICE ?? 'cpu';
const dir = scratchDir('generate');
const testData = path.resolve(repoRoot, '..', 'shared', 'data', 'Tang_testing_data.json');
const cli = (...args: string[]) => spawnSync(process.execPath, [cliPath, 'generate', '--device', device, ...args], { encoding: 'utf8' });

test('a test file gives the results file and results.jsonl, one record per prompt', { skip: !fs.existsSync(testData) && 'no shared/data' }, async () => {
  const model = await makeFixtureModel(dir, 'f32');
  const out = path.join(dir, 'out', 'results.txt');
  const r = cli('--model', model, '--data', testData, '--out', out, '--max-new-tokens', '12', '--parallel', '15');
  assert.equal(r.status, 0, r.stderr);
  const inputs = JSON.parse(fs.readFileSync(testData, 'utf8')).map((x: { input: string }) => x.input);
  const lines = fs.readFileSync(path.join(dir, 'out', 'results.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((l) => l.input), inputs);
  assert.ok(lines.every((l) => l.tokens >= 1 && l.tokens <= 12 && l.seconds >= 0 && typeof l.output === 'string'));
  const text = fs.readFileSync(out, 'utf8');
  assert.equal(text.split('\n\n').length, inputs.length);
  assert.ok(text.startsWith(`${inputs[0]}\n${lines[0].output}\n`));
});

test('one prompt prints the poem; bad input is one line and a non-zero exit', async () => {
  const model = await makeFixtureModel(dir, 'f32');
  const ok = cli('--model', model, '--prompt', '秦川雄帝宅,函谷壯皇居。', '--temperature', '0', '--max-new-tokens', '8');
  assert.equal(ok.status, 0, ok.stderr);
  assert.ok(ok.stdout.trim().length > 0);
  const corrupt = path.join(dir, 'corrupt.gguf');
  fs.writeFileSync(corrupt, Buffer.alloc(64, 1));
  const cases: Array<[string[], number, RegExp]> = [
    [['--model', path.join(dir, 'none.gguf'), '--prompt', 'x'], 1, /does not exist/],
    [['--model', model, '--lora', corrupt, '--prompt', 'x'], 1, /is not a GGUF file/],
    [['--model', model, '--prompt', '  '], 2, /the prompt is empty/],
    [['--model', model, '--prompt', 'x', '--max-new-tokens', '0'], 1, /max_new_tokens must be from 1/],
    [['--model', model, '--prompt', 'x', '--max-new-tokens', '100000'], 1, /max_new_tokens must be from 1/],
    [['--model', model], 2, /exactly one of --data and --prompt/],
  ];
  for (const [args, status, re] of cases) {
    const r = cli(...args);
    assert.equal(r.status, status, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, re);
    assert.equal(r.stderr.trim().split('\n').length, 1);
  }
});

test('prompts decoded as parallel sequences give what one-by-one decoding gives', async () => {
  const { openRunner } = await import('../lib/index.js');
  const model = await makeFixtureModel(dir, 'f32');
  const r = await openRunner(model, [], { device, nCtx: 128, nParallel: 4 });
  try {
    const prompts = Array.from({ length: 7 }, (_, i) => Array.from({ length: 5 + i }, (_, k) => 3 + ((i * 7919 + k * 104729) % 31990)));
    for (const opts of [{ temperature: 0 }, { temperature: 0.8, topP: 0.9, seed: 3 }]) {
      const o = { ...opts, maxNewTokens: 10 };
      const batched = await r.generateBatch(prompts, o);
      assert.equal(batched.length, prompts.length);
      for (const [i, p] of prompts.entries()) assert.deepEqual([...batched[i]!], [...(await r.generate(p, o))], `prompt ${i} ${JSON.stringify(opts)}`);
    }
    await assert.rejects(r.generateBatch([[1, 2], []], { maxNewTokens: 4 }), /prompt 1 is empty/);
  } finally {
    await r.dispose();
  }
});
