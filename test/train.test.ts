// `tang-lora train` end to end on the tiny model: outputs, checkpoints, exact resume after
// Ctrl-C, packing vs padding, the schedule, and bad input.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { learningRate, openRunner, parseRecords, train } from '../lib/index.js';
import { makeFixtureModel } from './helpers/fixture-models.js';
import { cliPath, device, repoRoot, scratchDir } from './helpers/paths.js';
import { readEvents } from './helpers/tfrecord.js';
import { assertFails, runCli, signalAfterStep } from './helpers/cli.js';

const dir = scratchDir('train');
const data = path.join(repoRoot, 'test', 'data', 'tang-32.json');
const quick = ['--device', device, '--micro-batch-size', '2', '--grad-accum', '2', '--warmup-steps', '2', '--lr', '1e-2'];
const cli = (...args: string[]) => runCli('train', ...args);
const metrics = (out: string) =>
  fs.readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));

test('the schedule follows Hugging Face: warm-up from 0, then linear, cosine or constant', () => {
  const s = { lr: 1, warmupSteps: 4, totalSteps: 12 };
  assert.deepEqual([0, 1, 2, 3].map((k) => learningRate(k, { ...s, kind: 'linear' })), [0, 0.25, 0.5, 0.75]);
  assert.equal(learningRate(4, { ...s, kind: 'linear' }), 1);
  assert.equal(learningRate(8, { ...s, kind: 'linear' }), 0.5);
  assert.equal(learningRate(12, { ...s, kind: 'linear' }), 0);
  assert.ok(Math.abs(learningRate(8, { ...s, kind: 'cosine' }) - 0.5) < 1e-12);
  assert.equal(learningRate(10, { ...s, kind: 'constant' }), 1);
});

test('records: JSON array or JSONL; a bad record names its index and field', () => {
  const rec = { instruction: 'i', input: 'x', output: 'y' };
  assert.equal(parseRecords(JSON.stringify([rec, rec]), 'a.json').length, 2);
  assert.equal(parseRecords(`${JSON.stringify(rec)}\n${JSON.stringify(rec)}\n`, 'a.jsonl').length, 2);
  assert.throws(() => parseRecords('[{"instruction":"i","input":"x"}]', 'a.json'), /record 0: field 'output' is missing/);
  assert.throws(() => parseRecords(`[${JSON.stringify(rec)},{"instruction":"i","input":3,"output":""}]`, 'a.json'), /record 1: field 'input' must be a string/);
  assert.throws(() => parseRecords('[{"a":', 'a.json'), /is not valid JSON/);
  assert.throws(() => parseRecords('  ', 'a.json'), /holds no records/);
  assert.equal(parseRecords('[{"instruction":"i","input":"x"}]', 't.json', { requireOutput: false }).length, 1);
});

test('train writes the adapter, metrics and at most save-total-limit checkpoints; libllama loads them', async () => {
  const model = await makeFixtureModel(dir, 'f32');
  const out = path.join(dir, 'run');
  const r = cli('--model', model, '--data', data, '--out', out, ...quick, '--max-steps', '5', '--logging-steps', '1', '--save-steps', '1', '--save-total-limit', '3');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^step 5 /m);
  const m = metrics(out);
  assert.deepEqual(m.map((x) => x.step), [1, 2, 3, 4, 5]);
  assert.equal(m[0].lr, 0, 'the first step runs at warm-up rate 0');
  assert.ok(m.every((x) => Number.isFinite(x.loss) && x.grad_norm > 0 && x.target_tokens > 0));
  const eventFile = fs.readdirSync(out).find((f) => f.startsWith('events.out.tfevents.'));
  assert.ok(eventFile, 'a TensorBoard event file');
  const scalars = readEvents(path.join(out, eventFile)).filter((e) => 'loss' in e.scalars);
  assert.deepEqual(scalars.map((e) => e.step), [1, 2, 3, 4, 5]);
  assert.ok(Math.abs(scalars[4]!.scalars.loss! - m[4].loss) < 1e-5 * m[4].loss);
  assert.ok(fs.existsSync(path.join(out, 'report.html')), 'the report (test/report.test.ts reads it)');
  const ckpts = fs.readdirSync(path.join(out, 'checkpoints')).sort();
  assert.deepEqual(ckpts, ['checkpoint-3', 'checkpoint-4', 'checkpoint-5']);
  for (const a of [path.join(out, 'adapter.gguf'), path.join(out, 'checkpoints', 'checkpoint-4', 'adapter.gguf')]) {
    const runner = await openRunner(model, [{ path: a }], { device, nCtx: 64 });
    assert.equal((await runner.logits([1, 2, 3])).length, 3 * runner.nVocab);
    await runner.dispose();
  }
});

test('Ctrl-C saves a checkpoint and exits 130; resuming repeats the uninterrupted run', async () => {
  const model = await makeFixtureModel(dir, 'f32');
  const args = (out: string) => ['--model', model, '--data', data, '--out', out, ...quick, '--max-steps', '8', '--logging-steps', '1', '--save-steps', '100'];
  const whole = path.join(dir, 'whole');
  assert.equal(cli(...args(whole)).status, 0);

  const cut = path.join(dir, 'cut');
  assert.equal(await signalAfterStep(args(cut), 2, 'SIGINT'), 130);
  const ck = fs.readdirSync(path.join(cut, 'checkpoints'));
  assert.equal(ck.length, 1);
  const k = Number(ck[0]!.split('-')[1]);
  assert.ok(k >= 2 && k < 8, `interrupted at step ${k}`);

  const r = cli(...args(cut), '--resume', path.join(cut, 'checkpoints', ck[0]!));
  assert.equal(r.status, 0, r.stderr);
  const a = metrics(whole);
  const b = metrics(cut);
  assert.deepEqual(b.map((x) => x.step), [1, 2, 3, 4, 5, 6, 7, 8]);
  for (let i = k; i < 8; i++) {
    for (const f of ['loss', 'lr', 'grad_norm'] as const) {
      assert.ok(Math.abs(a[i][f] - b[i][f]) <= 1e-6, `step ${i + 1} ${f}: ${a[i][f]} vs ${b[i][f]}`);
    }
  }
});

test('packing and padding end at comparable loss; packing processes fewer tokens', async (t) => {
  const model = await makeFixtureModel(dir, 'f32');
  const common = { model, data, device, microBatchSize: 4, gradAccum: 1, maxSteps: 6, warmupSteps: 0, lr: 1e-2, loggingSteps: 6, loraDropout: 0 };
  const packed = await train({ ...common, out: path.join(dir, 'packed'), epochs: 1, maxSteps: -1 });
  const padded = await train({ ...common, out: path.join(dir, 'padded'), packing: false, epochs: 1, maxSteps: -1 });
  t.diagnostic(`one epoch of 32 samples: packed ${packed.tokens} tokens (${packed.steps} steps, padding ${(100 * packed.paddingFraction).toFixed(1)}%), ` +
    `padded to 256: ${padded.tokens} tokens (${padded.steps} steps, padding ${(100 * padded.paddingFraction).toFixed(1)}%); ` +
    `final loss ${packed.finalLoss.toFixed(3)} vs ${padded.finalLoss.toFixed(3)}`);
  assert.ok(packed.tokens < padded.tokens);
  assert.ok(Math.abs(packed.finalLoss - padded.finalLoss) < 0.5, 'comparable loss');
});

test('bad input: one line, exit 1 or 2, nothing written', async () => {
  const model = await makeFixtureModel(dir, 'f32');
  const bad = (name: string, text: string) => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, text);
    return f;
  };
  const cases: Array<[string[], number, RegExp]> = [
    [['--data', bad('malformed.json', '[{"instruction": ')], 1, /is not valid JSON/],
    [['--data', bad('nooutput.json', '[{"instruction":"a","input":"b"}]')], 1, /record 0: field 'output' is missing/],
    [['--data', bad('empty.json', '')], 1, /holds no records/],
    [['--data', data, '--model', path.join(dir, 'missing.gguf')], 1, /model file '.*missing\.gguf' does not exist/],
    [['--data', data, '--bogus-flag'], 2, /Unknown argument/],
    [['--data', data, '--lr', '-1'], 2, /--lr must be a number >= 0 and <= 10, got -1/],
  ];
  for (const [extra, status, re] of cases) {
    const out = path.join(dir, `never-${status}-${cases.findIndex((c) => c[0] === extra)}`);
    assertFails(cli(...(extra.includes('--model') ? [] : ['--model', model]), '--out', out, '--device', device, ...extra), status, re, extra.join(' '));
    assert.ok(!fs.existsSync(out), 'no output folder');
  }
  const used = path.join(dir, 'used');
  fs.mkdirSync(used);
  fs.writeFileSync(path.join(used, 'metrics.jsonl'), '{}\n');
  const r = cli('--model', model, '--data', data, '--out', used, '--device', device);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /holds another run; pass --overwrite/);
});

test('--config takes the reference names; flags on the command line win', async () => {
  const model = await makeFixtureModel(dir, 'f32');
  const cfg = path.join(dir, 'config.json');
  fs.writeFileSync(cfg, JSON.stringify({
    num_epoch: 1, LEARNING_RATE: 0.01, CUTOFF_LEN: 256, LORA_R: 4, LORA_ALPHA: 8, LORA_DROPOUT: 0,
    MICRO_BATCH_SIZE: 2, GRADIENT_ACCUMULATION_STEPS: 1, warmup_steps: 0, 'max-steps': 2, loggingSteps: 1,
  }));
  const a = path.join(dir, 'cfg-a');
  assert.equal(cli('--model', model, '--data', data, '--out', a, '--device', device, '--config', cfg).status, 0);
  assert.deepEqual(metrics(a).map((m) => m.lr), [0.01, 0.005]);
  const b = path.join(dir, 'cfg-b');
  assert.equal(cli('--model', model, '--data', data, '--out', b, '--device', device, '--config', cfg, '--lr', '0.02').status, 0);
  assert.deepEqual(metrics(b).map((m) => m.lr), [0.02, 0.01]);
  fs.writeFileSync(cfg, JSON.stringify({ LORA_RANK: 3 }));
  const r = cli('--model', model, '--data', data, '--out', path.join(dir, 'cfg-c'), '--config', cfg);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /'LORA_RANK' is not a train setting/);
});

test('--val-set-size holds records out and logs eval_loss every --eval-steps', async () => {
  const model = await makeFixtureModel(dir, 'f32');
  const out = path.join(dir, 'val');
  const r = cli('--model', model, '--data', data, '--out', out, ...quick, '--max-steps', '4', '--logging-steps', '1', '--eval-steps', '2', '--val-set-size', '4');
  assert.equal(r.status, 0, r.stderr);
  const m = metrics(out);
  assert.deepEqual(m.filter((x) => 'eval_loss' in x).map((x) => x.step), [2, 4]);
  assert.ok(m.every((x) => !('eval_loss' in x) || (Number.isFinite(x.eval_loss) && x.eval_loss > 0)));
  const file = fs.readdirSync(out).find((f) => f.startsWith('events.out.tfevents.'))!;
  assert.deepEqual(readEvents(path.join(out, file)).filter((e) => 'eval_loss' in e.scalars).map((e) => e.step), [2, 4]);
  const big = cli('--model', model, '--data', data, '--out', path.join(dir, 'val-big'), '--val-set-size', '32');
  assert.equal(big.status, 1);
  assert.match(big.stderr, /val set size 32 leaves no training records out of 32/);
});

test('on a terminal train draws a progress bar; piped output has only log lines', { skip: !fs.existsSync('/usr/bin/script') && 'no script(1)' }, async () => {
  const model = await makeFixtureModel(dir, 'f32');
  const out = path.join(dir, 'tty');
  const typescript = path.join(dir, 'tty.log');
  const cmd = [process.execPath, cliPath, 'train', '--model', model, '--data', data, '--out', out, ...quick, '--max-steps', '4', '--logging-steps', '2']
    .map((a) => `'${a}'`).join(' ');
  const r = spawnSync('/usr/bin/script', ['-q', '-c', cmd, typescript], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const screen = fs.readFileSync(typescript, 'utf8');
  assert.match(screen, /\[#+\.+\] 1\/4 {2}loss \d+\.\d{4} {2}lr \S+ {2}\d+ tok\/s {2}ETA \dm\d\ds/);
  assert.match(screen, /\] 4\/4 /);
  assert.match(screen, /step 4 {2}epoch/);
  const piped = cli('--model', model, '--data', data, '--out', path.join(dir, 'piped'), ...quick, '--max-steps', '2', '--logging-steps', '1');
  assert.doesNotMatch(piped.stdout, /\] \d+\/2/);
});

test('records whose prompt alone reaches the cutoff are reported and skipped; all of them is an error', async () => {
  const model = await makeFixtureModel(dir, 'f32');
  const [rec] = parseRecords(fs.readFileSync(data, 'utf8'), data);
  const file = path.join(dir, 'long-prompt.json');
  fs.writeFileSync(file, JSON.stringify([rec, { ...rec, input: '秦川雄帝宅'.repeat(60) }]));
  const out = path.join(dir, 'skip');
  const r = cli('--model', model, '--data', file, '--out', out, ...quick, '--max-steps', '1');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /skipped 1 record\(s\) whose prompt alone reaches --cutoff-len: 1$/m);
  const none = path.join(dir, 'skip-all');
  const bad = cli('--model', model, '--data', file, '--out', none, ...quick, '--max-steps', '1', '--cutoff-len', '20');
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /every record's prompt reaches the cutoff length 20/);
  assert.ok(!fs.existsSync(none), 'no output folder');
});

test('every epoch trains every sample once, also when epochs pack into different numbers of micro-batches', async () => {
  const model = await makeFixtureModel(dir, 'f32');
  // With rows of 400 tokens the shuffles of epochs 0-5 pack into 10, 10, 10, 10, 11, 10 micro-batches.
  const run = async (epochs: number) => {
    const logs: number[] = [];
    const r = await train({
      model, data, out: path.join(dir, `epochs-${epochs}`), device, epochs, cutoffLen: 400, microBatchSize: 2, gradAccum: 1,
      warmupSteps: 0, lr: 1e-3, loggingSteps: 1, saveSteps: 1000, onLog: (m) => logs.push(m.target_tokens),
    });
    return { steps: r.steps, targets: logs.reduce((a, b) => a + b, 0) };
  };
  const one = await run(1);
  const six = await run(6);
  assert.equal(six.targets, 6 * one.targets, 'each epoch saw all target tokens');
  assert.equal(six.steps, 61);
});
