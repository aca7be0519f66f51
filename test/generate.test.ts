// `tang-lora generate`: the 15 test prompts through libllama into the reference's results file
// and results.jsonl; one prompt to stdout; bad input is one line and a non-zero exit.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { foreignAdapter, makeFixtureModel } from './helpers/fixture-models.js';
import { device, repoRoot, scratchDir } from './helpers/paths.js';
import { assertFails, runCli } from './helpers/cli.js';

const dir = scratchDir('generate');
const testData = path.join(repoRoot, 'test', 'data', 'tang-test-15.json'); // ../shared/data/Tang_testing_data.json
const cli = (...args: string[]) => runCli('generate', '--device', device, ...args);

test('a test file gives the results file and results.jsonl, one record per prompt', async () => {
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
  const foreign = await foreignAdapter(dir); // libllama refuses its shapes
  const cases: Array<[string[], number, RegExp]> = [
    [['--model', path.join(dir, 'none.gguf'), '--prompt', 'x'], 1, /does not exist/],
    [['--model', model, '--lora', corrupt, '--prompt', 'x'], 1, /is not a GGUF file/],
    [['--model', model, '--lora', foreign, '--prompt', 'x'], 1, /cannot apply adapter/],
    [['--model', model, '--prompt', '  '], 2, /the prompt is empty/],
    [['--model', model, '--prompt', 'x', '--max-new-tokens', '0'], 2, /--max-new-tokens must be an integer from 1 to/],
    [['--model', model, '--prompt', 'x', '--max-new-tokens', '100000'], 1, /max_new_tokens must be from 1/],
    [['--model', model], 2, /exactly one of --data and --prompt/],
  ];
  for (const [args, status, re] of cases) {
    assertFails(cli(...args), status, re, args.join(' '));
  }
});

test('prompts decoded as parallel sequences give what one-by-one decoding gives', async () => {
  const { openRunner } = await import('../lib/index.js');
  const model = await makeFixtureModel(dir, 'f32');
  const r = await openRunner(model, [], { device, nCtx: 128, nParallel: 4 });
  try {
    const prompts = Array.from({ length: 7 }, (_, i) => Array.from({ length: 5 + i }, (_, k) => 3 + ((i * 7919 + k * 104729) % 31990)));
    // Sampled runs are compared on the CPU only: ggml's CUDA kernels differ by batch size in the
    // last bits of the logits, which a temperature-0.8 draw can turn into another token.
    const settings = device === 'cpu' ? [{ temperature: 0 }, { temperature: 0.8, topP: 0.9, seed: 3 }] : [{ temperature: 0 }];
    for (const opts of settings) {
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

test('progress events arrive before the result; a signal cancels decoding; stop strings end a poem', async () => {
  const { openRunner, generatePoems } = await import('../lib/index.js');
  const model = await makeFixtureModel(dir, 'f32');
  const r = await openRunner(model, [], { device, nCtx: 512, nParallel: 3 });
  try {
    const prompts = [[1, 500, 600], [1, 700], [1, 800, 900, 1000], [1, 1100]];
    const o = { temperature: 0, noRepeatNgramSize: 0, maxNewTokens: 12 };
    const tokens = prompts.map(() => [] as number[]);
    const done: number[] = [];
    const outs = await r.generateBatch(prompts, o, { onToken: (i, t) => tokens[i]!.push(t), onDone: (i) => done.push(i) });
    assert.deepEqual([...done].sort(), [0, 1, 2, 3], 'one done event per prompt, all before the Promise settled');
    outs.forEach((out, i) => assert.deepEqual(tokens[i], [...out], `token events of prompt ${i}`));

    const ac = new AbortController();
    let seen = 0;
    const long = r.generateBatch(prompts, { ...o, maxNewTokens: 400 }, { signal: ac.signal, onToken: () => ++seen === 5 && ac.abort(new Error('stop now')) });
    await assert.rejects(long, /stop now/);
    assert.ok(seen < 4 * 400, 'decoding stopped early');
    assert.deepEqual([...(await r.generate(prompts[0]!, o))], [...outs[0]!], 'the runner works after a cancel');
  } finally {
    await r.dispose();
  }
  // A stop string taken from an unconstrained poem ends the poem before it.
  const records = [{ instruction: 'i', input: '秦川雄帝宅,函谷壯皇居。' }];
  const base = { model, device, temperature: 0, noRepeatNgramSize: 0, maxNewTokens: 24 };
  const [free] = await generatePoems(records, base);
  const stop = [...free!.output].slice(4, 6).join('');
  const [cut] = await generatePoems(records, { ...base, stop: [stop] });
  assert.ok(cut!.tokens < free!.tokens, 'fewer tokens');
  assert.equal(cut!.output, free!.output.slice(0, free!.output.indexOf(stop)).trim());
});
