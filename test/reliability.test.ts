// Never lose the user's files, refuse every bad value, resume only what resumes exactly: one
// test per defect of issue 13 (a hostile user's findings), each on the tiny model and the CLI.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { createModel, errorLine, openRunner, train } from '../lib/index.js';
import { assertFails, device, runCli, runCliWith, signalAfterStep } from './helpers/cli.js';
import { makeFixtureModel } from './helpers/fixture-models.js';
import { ggufBytes, type TensorSpec } from './helpers/gguf-writer.js';
import { repoRoot, scratchDir } from './helpers/paths.js';

const dir = scratchDir('reliability');
const data = path.join(repoRoot, 'test', 'data', 'tang-32.json');
const quick = ['--device', device, '--micro-batch-size', '2', '--grad-accum', '2', '--warmup-steps', '2', '--lr', '1e-2'];
const sha = (f: string) => createHash('sha256').update(fs.readFileSync(f)).digest('hex');
const metricSteps = (out: string) => fs.readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l).step);

/** sha256 of every file under `root` (relative path -> hash): to show nothing changed. */
function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const f = path.join(d, e.name);
      if (e.isDirectory()) walk(f);
      else out[path.relative(root, f)] = sha(f);
    }
  };
  walk(root);
  return out;
}

/** A finished 4-step run with checkpoints at steps 2 and 4; its arguments for a resume. */
async function runWithCheckpoints(name: string) {
  const model = await makeFixtureModel(dir, 'f32');
  const out = path.join(dir, name);
  const args = ['--model', model, '--data', data, '--out', out, ...quick, '--max-steps', '4', '--logging-steps', '1', '--save-steps', '2'];
  const r = runCli('train', ...args);
  assert.equal(r.status, 0, r.stderr);
  return { model, out, args, ckpt: (step: number) => path.join(out, 'checkpoints', `checkpoint-${step}`) };
}

test('--overwrite removes only what a run writes and never an input of the same command (defect 1)', async () => {
  const d = path.join(dir, 'overwrite');
  fs.mkdirSync(d);
  const model = path.join(d, 'tiny.gguf');
  fs.copyFileSync(await makeFixtureModel(dir, 'f32'), model);
  fs.copyFileSync(data, path.join(d, 'data.json'));
  fs.writeFileSync(path.join(d, 'notes.txt'), 'x\n');
  const args = ['--model', model, '--data', path.join(d, 'data.json'), '--out', d, ...quick, '--max-steps', '2', '--save-steps', '1'];
  const first = runCli('train', ...args, '--overwrite');
  assert.equal(first.status, 0, first.stderr);
  for (const f of ['tiny.gguf', 'data.json', 'notes.txt', 'adapter.gguf', 'metrics.jsonl']) assert.ok(fs.existsSync(path.join(d, f)), f);

  assertFails(runCli('train', ...args), 1, /holds another run; pass --overwrite/);
  const again = runCli('train', ...args, '--overwrite');
  assert.equal(again.status, 0, again.stderr);
  assert.equal(fs.readFileSync(path.join(d, 'notes.txt'), 'utf8'), 'x\n');
  assert.deepEqual(fs.readdirSync(path.join(d, 'checkpoints')).sort(), ['checkpoint-1', 'checkpoint-2']);

  const inner = path.join(d, 'checkpoints', 'data.json');
  fs.copyFileSync(data, inner);
  const before = snapshot(d);
  const r = runCli('train', '--model', model, '--data', inner, '--out', d, ...quick, '--max-steps', '2', '--overwrite');
  assertFails(r, 1, /--overwrite would remove '.*checkpoints\/data\.json', which this run reads/);
  assert.deepEqual(snapshot(d), before, 'nothing removed');
});

test('--out "" is refused and the earlier run in the working folder is untouched (defect 2)', async () => {
  const { out, model } = await runWithCheckpoints('empty-out');
  const before = snapshot(out);
  const r = runCliWith({ cwd: out }, 'train', '--model', model, '--data', data, '--out', '', ...quick, '--max-steps', '1');
  assertFails(r, 2, /--out must be a non-empty text, got ''/);
  assert.deepEqual(snapshot(out), before);
});

test('a damaged checkpoint is refused naming the file, and nothing is written (defect 3)', async () => {
  const { out, args, ckpt } = await runWithCheckpoints('damaged');
  const state = JSON.parse(fs.readFileSync(path.join(ckpt(2), 'trainer_state.json'), 'utf8'));
  const variant = (name: string, change: (d: string) => void) => {
    const d = path.join(out, 'checkpoints', name);
    fs.cpSync(ckpt(2), d, { recursive: true });
    change(d);
    return d;
  };
  const writeState = (text: string) => (d: string) => fs.writeFileSync(path.join(d, 'trainer_state.json'), text);
  const cases: Array<[string, (d: string) => void, RegExp]> = [
    ['object', writeState('{}'), /trainer_state\.json': global_step must be an integer >= 1, got undefined/],
    ['array', writeState('[]'), /trainer_state\.json': not a JSON object/],
    ['number', writeState('1e9'), /trainer_state\.json': not a JSON object/],
    ['null', writeState('null'), /trainer_state\.json': not a JSON object/],
    ['zero', writeState(JSON.stringify({ ...state, global_step: 0 })), /global_step must be an integer >= 1, got 0/],
    ['fraction', writeState(JSON.stringify({ ...state, global_step: 2.5 })), /global_step must be an integer >= 1, got 2\.5/],
    ['huge', writeState(JSON.stringify({ ...state, global_step: 1e9 })), /total_steps must be an integer >= global_step/],
    ['disagrees', writeState(JSON.stringify({ ...state, global_step: 3 })), /trainer_state\.json says step 3, optimizer\.gguf holds step 2/],
    ['no-json', writeState('{"global_step": '), /trainer_state\.json' is not valid JSON/],
    ['no-adapter', (d) => fs.rmSync(path.join(d, 'adapter.gguf')), /lacks adapter\.gguf/],
    ['no-optimizer', (d) => fs.rmSync(path.join(d, 'optimizer.gguf')), /lacks optimizer\.gguf/],
    ['other-adapter', (d) => fs.copyFileSync(path.join(ckpt(4), 'adapter.gguf'), path.join(d, 'adapter.gguf')), /adapter\.gguf' is not the adapter of this state/],
  ];
  for (const [name, change, re] of cases) {
    const d = variant(name, change);
    const before = snapshot(out);
    assertFails(runCli('train', ...args, '--resume', d), 1, re, name);
    assert.deepEqual(snapshot(out), before, `${name}: nothing written`);
  }
  // killed after the last step's checkpoint, before the adapter: the resume only writes it
  const adapter = path.join(out, 'adapter.gguf');
  const want = sha(adapter);
  fs.rmSync(adapter);
  const r = runCli('train', ...args, '--resume', ckpt(4));
  assert.equal(r.status, 0, r.stderr);
  assert.equal(sha(adapter), want);
});

test('--resume refuses settings that change the data or the past steps, and a new schedule without --new-schedule (defect 4)', async () => {
  const { out, args, ckpt } = await runWithCheckpoints('settings');
  const other = path.join(dir, 'other-data.json');
  const records = JSON.parse(fs.readFileSync(data, 'utf8'));
  fs.writeFileSync(other, JSON.stringify([{ ...records[0], output: records[1].output }, ...records.slice(1)]));
  const otherModel = path.join(dir, 'other-tiny.gguf');
  await createModel(otherModel, { shape: 'tiny', seed: 99 });
  const set = (flag: string, value?: string) => {
    const a = [...args];
    const at = a.indexOf(flag);
    if (at >= 0) a.splice(at, value === undefined ? 1 : 2);
    return [...a, flag, ...(value === undefined ? [] : [value])];
  };
  const cases: Array<[string[], RegExp]> = [
    [set('--seed', '7'), /--seed 42 -> 7 differs from checkpoint/],
    [set('--micro-batch-size', '1'), /--micro-batch-size 2 -> 1 differs/],
    [set('--grad-accum', '1'), /--grad-accum 2 -> 1 differs/],
    [set('--cutoff-len', '200'), /--cutoff-len 256 -> 200 differs/],
    [set('--no-packing'), /--packing true -> false differs/],
    [set('--template', 'chatml'), /--template "llama2" -> "chatml" differs/],
    [set('--lora-dropout', '0.1'), /--lora-dropout 0\.05 -> 0\.1 differs/],
    [set('--data', other), /--data is not the data of checkpoint/],
    [set('--model', otherModel), /--model is not the model of checkpoint/],
    [set('--lr', '0.02'), /the schedule differs .*--lr 0\.01 -> 0\.02.*; pass --new-schedule/],
    [set('--lr-scheduler', 'cosine'), /--lr-scheduler "linear" -> "cosine".*pass --new-schedule/],
    [set('--max-steps', '8'), /--max-steps 4 -> 8.*pass --new-schedule/],
  ];
  const before = snapshot(out);
  for (const [a, re] of cases) assertFails(runCli('train', ...a, '--resume', ckpt(2)), 1, re, a.join(' '));
  assert.deepEqual(snapshot(out), before, 'nothing written');

  const r = runCli('train', ...set('--max-steps', '8'), '--resume', ckpt(2), '--new-schedule');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /resuming with a changed schedule \(--max-steps 4 -> 8\): the run is no longer the same as an uninterrupted one/);
  assert.deepEqual(metricSteps(out), [1, 2, 3, 4, 5, 6, 7, 8]);
});

test('a run that fails leaves nothing but what a resume can use, and the retry runs (defect 5)', async () => {
  const model = await makeFixtureModel(dir, 'f32');
  const out = path.join(dir, 'fails');
  assertFails(runCli('train', '--model', model, '--data', data, '--out', out, '--device', 'nosuch', '--max-steps', '1'), 1, /unknown device 'nosuch'/);
  assert.ok(!fs.existsSync(out), 'no output folder');

  const opts = { model, data, out, device, microBatchSize: 2, gradAccum: 1, maxSteps: 2, loggingSteps: 2, saveSteps: 1 };
  const boom = (m: { step: number }) => {
    if (m.step === 2) throw new Error('boom'); // step 1 is logged too, before its checkpoint
  };
  await assert.rejects(train({ ...opts, saveSteps: 100, onLog: boom }), /boom/);
  assert.ok(!fs.existsSync(out), 'a failure before any checkpoint removes what the run made');
  await assert.rejects(train({ ...opts, onLog: boom }), /boom/);
  assert.deepEqual(fs.readdirSync(path.join(out, 'checkpoints')), ['checkpoint-1'], 'a checkpoint stays for --resume');
  const resumed = await train({ ...opts, resume: path.join(out, 'checkpoints', 'checkpoint-1') });
  assert.equal(resumed.steps, 2);
});

test('every numeric flag has a range and a type, checked before work starts (defect 6)', async () => {
  const model = await makeFixtureModel(dir, 'f32');
  const out = path.join(dir, 'never');
  const config = path.join(dir, 'bad-config.json');
  fs.writeFileSync(config, JSON.stringify({ max_steps: 'x' }));
  const trainCases: Array<[string[], RegExp]> = [
    [['--save-total-limit', '0'], /--save-total-limit must be an integer >= 1, got 0/],
    [['--save-total-limit', '-1'], /--save-total-limit must be an integer >= 1, got -1/],
    [['--save-steps', '0'], /--save-steps must be an integer >= 1, got 0/],
    [['--save-steps', 'NaN'], /--save-steps must be an integer >= 1, got NaN/],
    [['--num-train-data', '-1'], /--num-train-data must be an integer >= 1, got -1/],
    [['--num-train-data', '1.5'], /--num-train-data must be an integer >= 1, got 1\.5/],
    [['--num-train-data', '0'], /--num-train-data must be an integer >= 1, got 0/],
    [['--logging-steps', '0'], /--logging-steps must be an integer >= 1, got 0/],
    [['--seed', 'NaN'], /--seed must be an integer from 0 to 4294967295, got NaN/],
    [['--max-steps', '1.5'], /--max-steps must be an integer >= 1 \(or -1\), got 1\.5/],
    [['--max-steps', 'NaN'], /--max-steps must be an integer >= 1 \(or -1\), got NaN/],
    [['--max-steps', '2', '--max-steps', '3'], /--max-steps is given more than once/],
    [['--epochs', '1e9'], /--epochs must be a number > 0 and <= 1000, got 1000000000/],
    [['--lr-scheduler', 'sine'], /--lr-scheduler must be one of linear, cosine, constant, got 'sine'/],
    [['--template', 'x'], /--template must be one of llama2, chatml, model, got 'x'/],
    [['--config', config], /--max-steps must be an integer >= 1 \(or -1\), got/],
  ];
  for (const [extra, re] of trainCases) {
    assertFails(runCli('train', '--model', model, '--data', data, '--out', out, ...extra), 2, re, extra.join(' '));
    assert.ok(!fs.existsSync(out), `${extra.join(' ')}: nothing written`);
  }
  const genCases: Array<[string[], RegExp]> = [
    [['--temperature', '-1'], /--temperature must be a number >= 0 and <= 100, got -1/],
    [['--temperature', 'NaN'], /--temperature must be a number >= 0 and <= 100, got NaN/],
    [['--max-new-tokens', 'NaN'], /--max-new-tokens must be an integer from 1 to 1048576, got NaN/],
    [['--top-p', '0'], /--top-p must be a number > 0 and <= 1, got 0/],
  ];
  for (const [extra, re] of genCases) assertFails(runCli('generate', '--model', model, '--prompt', 'x', ...extra), 2, re, extra.join(' '));
});

test('every flag --help lists parses as --flag value and as --flag=value (defect 7)', async () => {
  const { COMMANDS, parser } = await import('../lib/cli/commands.js');
  let seen: Record<string, unknown> = {};
  const capture = COMMANDS.map((c) => ({ ...c, handler: (a: Record<string, unknown>) => void (seen = a) }));
  const parse = (argv: string[]) => {
    seen = {};
    parser(argv, capture).fail((msg, err) => {
      throw err ?? new Error(msg);
    }).parseSync();
    return seen;
  };
  const camel = (f: string) => f.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
  let checked = 0;
  for (const c of COMMANDS) {
    const name = String(c.command).split(' ')[0]!;
    const positionals = (String(c.command).match(/<[^>]+>/g) ?? []).map(() => 'p');
    // --help's entries, each joined onto one line (yargs wraps them)
    const entries = runCli(name, '--help').stdout.replace(/\n {6,}(?!-)/g, ' ').split('\n');
    const required = entries.flatMap((e) => /^\s+--([a-z0-9-]+)\s.*\[required\]/.exec(e)?.[1] ?? []).flatMap((f) => [`--${f}`, 'x']);
    for (const m of entries.join('\n').matchAll(/^\s+--([a-z0-9-]+)(?:, -\w)?\s.*\[(string|number|boolean|array)\]/gm)) {
      const [flag, type] = [m[1]!, m[2]!];
      if (flag === 'help' || flag === 'version' || flag === 'config') continue;
      const at = required.indexOf(`--${flag}`);
      const base = [name, ...positionals, ...(at < 0 ? required : [...required.slice(0, at), ...required.slice(at + 2)])];
      if (type === 'boolean') {
        assert.equal(parse([...base, `--${flag}`])[camel(flag)], true, `${name} --${flag}`);
        assert.equal(parse([...base, `--${flag}=false`])[camel(flag)], false, `${name} --${flag}=false`);
      } else {
        const value = type === 'number' ? '2' : 'x';
        const a = parse([...base, `--${flag}`, value])[camel(flag)];
        const b = parse([...base, `--${flag}=${value}`])[camel(flag)];
        assert.deepEqual(a, b, `${name} --${flag}`);
        assert.ok(a !== undefined && String(a) === (type === 'number' ? '2' : 'x'), `${name} --${flag} ${value}: ${JSON.stringify(a)}`);
      }
      checked++;
    }
  }
  assert.ok(checked > 60, `walked ${checked} flags`);
  const model = await makeFixtureModel(dir, 'f32');
  const r = runCli('generate', '--model', model, '--prompt', '白日依山盡', '--device', device, '--no-repeat-ngram-size', '2', '--max-new-tokens', '3');
  assert.equal(r.status, 0, r.stderr);
});

// An adapter for the tiny model, written by the independent GGUF writer.
function adapterFile(name: string, alpha: number, tensors: TensorSpec[]): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, ggufBytes({
    'general.type': { type: 'str', value: 'adapter' },
    'general.architecture': { type: 'str', value: 'llama' },
    'adapter.type': { type: 'str', value: 'lora' },
    'adapter.lora.alpha': { type: 'f32', value: alpha },
  }, tensors));
  return f;
}

test('adapters with non-finite values, no tensors or a wild scale are refused (defect 8)', async () => {
  const model = await makeFixtureModel(dir, 'f32');
  const f32 = (n: number, v: (i: number) => number) => {
    const b = Buffer.alloc(4 * n);
    for (let i = 0; i < n; i++) b.writeFloatLE(v(i), 4 * i);
    return b;
  };
  const pair = (bad: number) => [
    { name: 'blk.0.attn_q.weight.lora_a', type: 'f32', ne: [64, 4], data: f32(256, (i) => (i === bad ? NaN : 0.01)) },
    { name: 'blk.0.attn_q.weight.lora_b', type: 'f32', ne: [4, 64], data: f32(256, () => 0.01) },
  ] as TensorSpec[];
  const good = adapterFile('good-adapter.gguf', 8, pair(-1));
  const ok = runCli('generate', '--model', model, '--lora', good, '--prompt', 'x', '--device', device, '--max-new-tokens', '2');
  assert.equal(ok.status, 0, `the well-formed adapter is taken: ${ok.stderr}`);
  const cases: Array<[string, RegExp]> = [
    [adapterFile('nan-alpha.gguf', NaN, pair(-1)), /adapter\.lora\.alpha is not a finite number/],
    [adapterFile('nan-weight.gguf', 8, pair(17)), /tensor blk\.0\.attn_q\.weight\.lora_a holds a non-finite value/],
    [adapterFile('empty.gguf', 8, []), /holds no LoRA tensors/],
    [`${good}:1e30`, /adapter scale must be a number from -100 to 100, got 1000000015047466219876688855040/],
  ];
  for (const [spec, re] of cases) {
    assertFails(runCli('generate', '--model', model, '--lora', spec, '--prompt', 'x', '--device', device), 1, re, spec);
  }
  await assert.rejects(openRunner(model, [{ path: good, scale: Infinity }], { device }), /adapter scale must be a number/);
});

test("temporary files of dead runs are removed at the next start; generate checks --out before generating (defect 9)", async () => {
  const { out, args, ckpt } = await runWithCheckpoints('strays');
  const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
  const strays = [path.join(out, `adapter.gguf.tmp-${dead}`), path.join(out, `metrics.jsonl.tmp-${dead}`), path.join(out, 'checkpoints', `checkpoint-6.tmp-${dead}`)];
  fs.writeFileSync(strays[0]!, 'half');
  fs.writeFileSync(strays[1]!, 'half');
  fs.mkdirSync(strays[2]!);
  fs.writeFileSync(path.join(strays[2]!, 'adapter.gguf'), 'half');
  const live = path.join(out, `report.html.tmp-${process.pid}`);
  fs.writeFileSync(live, 'a live process writes this');
  const users = path.join(out, `notes.txt.tmp-${dead}`);
  fs.writeFileSync(users, "a user's file that only looks like a temporary one");
  const r = runCli('train', ...args, '--resume', ckpt(2));
  assert.equal(r.status, 0, r.stderr);
  for (const s of strays) assert.ok(!fs.existsSync(s), `${path.basename(s)} removed`);
  assert.ok(fs.existsSync(live), "a live process's temporary file stays");
  assert.ok(fs.existsSync(users), "a user's file stays");
  fs.rmSync(live);
  fs.rmSync(users);

  const model = await makeFixtureModel(dir, 'f32');
  const t0 = Date.now();
  const g = runCli('generate', '--model', model, '--data', path.join(repoRoot, 'test', 'data', 'tang-test-15.json'), '--out', out, '--device', device);
  assertFails(g, 1, /results file '.*strays' is a folder/);
  assert.ok(Date.now() - t0 < 10000, 'refused before generating');
  assert.ok(!fs.readdirSync(dir).some((f) => f.includes('.tmp')), 'no temporary file');
});

test('errors name the thing that is wrong (defect 10)', async () => {
  const model = await makeFixtureModel(dir, 'f32');
  assertFails(runCli('train', '--model', model, '--data', data, '--out', path.join(dir, 'x'), '--device', 'gpu7'), 1, /unknown device 'gpu7' \(devices: /);
  assertFails(runCli('generate', '--model', model, '--prompt', 'x', '--lora', 'x.gguf:abc'), 2, /--lora 'x\.gguf:abc': the scale 'abc' is not a number/);
  assertFails(runCli('generate', '--model', model, '--prompt', 'x', '--lora', path.join(dir, 'none.gguf')), 1, /adapter file '.*none\.gguf' does not exist/);
  if (fs.existsSync('/sys/kernel')) {
    // a folder no one may write, even root: the message says where and why
    assertFails(runCli('train', '--model', model, '--data', data, '--out', '/sys/tang-lora-run', ...quick, '--max-steps', '1'), 1,
      /^tang-lora: cannot create the folder '\/sys\/tang-lora-run': (not permitted|permission denied)$/m);
    assertFails(runCli('quantize', model, '/sys/tang-lora.gguf', '--type', 'q8_0'), 1, /^tang-lora: cannot write '\/sys\/tang-lora\.gguf': /m);
  }
  const full = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write' });
  assert.equal(errorLine(full, '/data/run'), "cannot write '/data/run': no space left on the device");
});

test('records with invalid UTF-8, a lone surrogate or a NUL are refused by index and field (defect 11)', async () => {
  const model = await makeFixtureModel(dir, 'f32');
  const rec = JSON.parse(fs.readFileSync(data, 'utf8'))[0];
  const file = (name: string, body: Buffer | string) => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, body);
    return f;
  };
  const good = JSON.stringify(rec);
  const badUtf8 = Buffer.concat([Buffer.from(`[${good},{"instruction":"i","input":"x","output":"`), Buffer.from([0xe4, 0xb8]), Buffer.from('"}]')]);
  const cases: Array<[string, RegExp]> = [
    [file('bad-utf8.json', badUtf8), /record 1: field 'output' holds bytes that are not UTF-8/],
    [file('surrogate.json', `[${good},{"instruction":"i","input":"\\ud800x","output":"y"}]`), /record 1: field 'input' holds a lone UTF-16 surrogate/],
    [file('nul.jsonl', `${good}\n{"instruction":"a\\u0000b","input":"x","output":"y"}\n`), /record 1: field 'instruction' holds a NUL character/],
  ];
  for (const [f, re] of cases) {
    assertFails(runCli('train', '--model', model, '--data', f, '--out', path.join(dir, 'never-utf8'), '--device', device), 1, re, f);
  }
});

test('SIGTERM saves a checkpoint as Ctrl-C does; a FIFO as --data is refused at once (defect 12)', async () => {
  const model = await makeFixtureModel(dir, 'f32');
  const out = path.join(dir, 'sigterm');
  const args = ['--model', model, '--data', data, '--out', out, ...quick, '--max-steps', '6', '--logging-steps', '1', '--save-steps', '100'];
  assert.equal(await signalAfterStep(args, 2, 'SIGTERM'), 143);
  const [ck] = fs.readdirSync(path.join(out, 'checkpoints'));
  assert.match(ck!, /^checkpoint-\d+$/);
  const r = runCli('train', ...args, '--resume', path.join(out, 'checkpoints', ck!));
  assert.equal(r.status, 0, r.stderr);

  const fifo = path.join(dir, 'data.fifo');
  if (spawnSync('mkfifo', [fifo]).status === 0) {
    const f = runCliWith({ timeoutMs: 30000 }, 'train', '--model', model, '--data', fifo, '--out', path.join(dir, 'never-fifo'));
    assertFails(f, 1, /data file '.*data\.fifo' is not a regular file/);
  }
});
