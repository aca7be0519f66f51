// The run report, read as a browser would (parsed into a DOM by linkedom, no regexes on the
// text): the summary, one chart per series with axes, grid and legend, the first step, the
// settings by group, the test prompts' table; `train --test-data` writes the reference script's
// results and scores, and a bad test file is refused before training starts.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { parseHTML } from 'linkedom';
import { train } from '../lib/index.js';
import { formatValue, lineChart, niceTicks } from '../lib/train/chart.js';
import { makeFixtureModel } from './helpers/fixture-models.js';
import { device, repoRoot, scratchDir } from './helpers/paths.js';
import { assertFails, runCli } from './helpers/cli.js';

const dir = scratchDir('report');
const data = path.join(repoRoot, 'test', 'data', 'tang-32.json');
const tests15 = path.join(repoRoot, 'test', 'data', 'tang-test-15.json');
const quick = ['--device', device, '--micro-batch-size', '2', '--grad-accum', '2', '--warmup-steps', '2', '--lr', '1e-2'];
const dom = (file: string) => parseHTML(fs.readFileSync(file, 'utf8')).document;
const field = (doc: Document, name: string) => doc.querySelector(`.summary tr[data-field="${name}"] td`)?.textContent ?? '';

test('ticks are round numbers 1, 2 or 5 times a power of ten apart', () => {
  assert.deepEqual(niceTicks(0, 10, 5), [0, 2, 4, 6, 8, 10]);
  assert.deepEqual(niceTicks(1, 65, 6), [10, 20, 30, 40, 50, 60]);
  assert.deepEqual(niceTicks(2.31, 2.58, 5), [2.35, 2.4, 2.45, 2.5, 2.55]);
  assert.deepEqual(niceTicks(3e-4, 3e-4), [3e-4]);
  assert.deepEqual(niceTicks(3e-4, 3.0000000000000003e-4), [3e-4], 'a range too narrow to divide ends');
  assert.deepEqual(niceTicks(10232, 10238, 5), [10232, 10233, 10234, 10235, 10236, 10237, 10238]);
  assert.ok(lineChart('c', 't', [{ name: 'v', color: '#000', points: [[1, 3e-4], [2, 3.0000000000000003e-4]] }]).includes('<svg'));
  assert.equal(formatValue(10235, 1), '10235');
  assert.equal(formatValue(2.45, 0.05), '2.45');
});

test('train --test-data: the report shows the run, its curves from step 1, the poems and their scores', async () => {
  const model = await makeFixtureModel(dir, 'f32');
  const out = path.join(dir, 'run');
  const r = runCli('train', '--model', model, '--data', data, '--out', out, ...quick, '--max-steps', '6', '--logging-steps', '2',
    '--val-set-size', '4', '--test-data', tests15, '--compare-base');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /test prompts: .*results\.jsonl, scores .*eval\.json/);
  const results = fs.readFileSync(path.join(out, 'results.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(results.length, 15);
  assert.equal(fs.readFileSync(path.join(out, 'results-base', 'results.jsonl'), 'utf8').trim().split('\n').length, 15);
  const scores = JSON.parse(fs.readFileSync(path.join(out, 'eval.json'), 'utf8'));
  assert.ok(scores.summary.known > 0 && scores.baseline.summary.prompts === 15, 'scored, the base beside the adapter');

  const doc = dom(path.join(out, 'report.html'));
  assert.equal(field(doc, 'state'), 'finished');
  assert.match(field(doc, 'model'), /tiny-f32\.gguf \(.+\)/);
  assert.match(field(doc, 'data'), /tang-32\.json \(32 records\)/);
  assert.match(field(doc, 'device'), /\w/);
  assert.match(field(doc, 'steps'), /^6 of 6$/);
  assert.match(field(doc, 'throughput'), /^[1-9]\d*$/);
  assert.match(field(doc, 'memory'), /GiB \(weights .* GiB, LoRA and AdamW .* GiB, compute .* GiB\)/);
  assert.match(field(doc, 'loss'), /^\d+\.\d{4} \/ \d+\.\d{4}$/);
  assert.match(field(doc, 'eval-loss'), /^\d+\.\d{4} \/ \d+\.\d{4}$/);
  assert.match(field(doc, 'padding'), /% of the tokens/);
  assert.equal(field(doc, 'adapter'), path.join(out, 'adapter.gguf'));
  assert.match(field(doc, 'time'), /^\d{4}-.* to \d{4}-.* \(\d/);
  assert.equal(doc.querySelector('meta[http-equiv="refresh"]'), null, 'a finished report stops reloading');

  const series = (id: string) => [...doc.querySelectorAll(`svg#${id} g.series`)].map((g) => g.getAttribute('data-series'));
  assert.deepEqual(series('chart-loss'), ['loss', 'eval_loss']);
  assert.deepEqual(series('chart-loss-log'), ['loss', 'eval_loss']);
  assert.equal(doc.querySelector('svg#chart-loss-log')!.getAttribute('data-scale'), 'log');
  assert.deepEqual(series('chart-lr'), ['lr']);
  assert.deepEqual(series('chart-grad-norm'), ['grad_norm']);
  assert.deepEqual(series('chart-tokens'), ['tokens_per_sec']);
  for (const id of ['chart-loss', 'chart-lr', 'chart-grad-norm', 'chart-tokens']) {
    const svg = doc.querySelector(`svg#${id}`)!;
    assert.ok(svg.querySelectorAll('text.tick.x').length >= 2 && svg.querySelectorAll('text.tick.y').length >= 2, `${id}: ticks on both axes`);
    assert.ok(svg.querySelectorAll('line.grid').length >= 4, `${id}: a grid`);
    assert.equal(svg.querySelectorAll('line.axis').length, 2, `${id}: two axes`);
    assert.equal(svg.querySelectorAll('g.legend-item').length, series(id).length, `${id}: a legend entry per series`);
  }
  const losses = [...doc.querySelectorAll('svg#chart-loss g[data-series="loss"] circle title')].map((t) => t.textContent);
  assert.deepEqual(losses.map((t) => Number(/step (\d+)/.exec(t!)![1])), [1, 2, 4, 6], 'step 1 logged, then every 2 steps');
  assert.ok(doc.querySelector('input#log-scale[type="checkbox"]'), 'a log-scale switch');

  const head = [...doc.querySelectorAll('table.results thead th')].map((t) => t.textContent);
  assert.deepEqual(head, ['prompt', 'poem (adapter)', 'scores', 'poem (base)', 'scores (base)', 'true continuation']);
  const rows = [...doc.querySelectorAll('table.results tbody tr')];
  assert.equal(rows.length, 15);
  assert.equal(rows[0]!.querySelector('td')!.textContent, results[0].input);
  assert.equal(rows[0]!.querySelectorAll('td')[1]!.textContent, results[0].output);
  assert.ok(rows.some((tr) => /chrF/.test(tr.querySelectorAll('td')[2]!.textContent!)), 'a known poem is scored');
  assert.ok(doc.querySelector('p.scores[data-run="adapter"]') && doc.querySelector('p.scores[data-run="base"]'));

  const groups = [...doc.querySelectorAll('table.settings')].map((t) => t.getAttribute('data-group'));
  assert.deepEqual(groups, ['Data', 'LoRA', 'Schedule', 'Memory plan', 'Test', 'Output']);
  const setting = (g: string, k: string) => doc.querySelector(`table.settings[data-group="${g}"] tr[data-field="${k}"] td`)?.textContent;
  assert.equal(setting('Schedule', 'lr'), '0.01');
  assert.equal(setting('LoRA', 'loraR'), '8');
  assert.equal(setting('Test', 'testData'), tests15);
});

test('the report is rewritten at every log and reloads itself while the run goes on', async () => {
  const model = await makeFixtureModel(dir, 'f32');
  const out = path.join(dir, 'live');
  const seen: { state: string; steps: string; refresh: boolean }[] = [];
  await train({
    model, data, out, device, microBatchSize: 2, gradAccum: 1, maxSteps: 4, loggingSteps: 1,
    onLog: () => {
      const file = path.join(out, 'report.html');
      if (!fs.existsSync(file)) return; // the first log comes before the first report
      const doc = dom(file);
      seen.push({ state: field(doc, 'state'), steps: field(doc, 'steps'), refresh: doc.querySelector('meta[http-equiv="refresh"]') !== null });
    },
  });
  assert.deepEqual(seen, [1, 2, 3].map((s) => ({ state: 'running', steps: `${s} of 4`, refresh: true })));
});

test('bad --test-data is refused before training starts, nothing written', async () => {
  const model = await makeFixtureModel(dir, 'f32');
  const bad = path.join(dir, 'bad-tests.json');
  fs.writeFileSync(bad, '[{"instruction":"i"}]');
  const out = path.join(dir, 'never');
  const base = ['--model', model, '--data', data, '--out', out, ...quick, '--max-steps', '2'];
  assertFails(runCli('train', ...base, '--test-data', path.join(dir, 'missing.json')), 1, /missing\.json/);
  assertFails(runCli('train', ...base, '--test-data', bad), 1, /record 0: field 'input' is missing/);
  assertFails(runCli('train', ...base, '--compare-base'), 1, /--compare-base needs --test-data/);
  assert.ok(!fs.existsSync(out), 'no output folder');
  // a test file inside what --overwrite would remove is an input of the run: refused, kept
  const earlier = path.join(dir, 'earlier');
  fs.mkdirSync(path.join(earlier, 'results-base'), { recursive: true });
  fs.writeFileSync(path.join(earlier, 'results.txt'), 'an earlier run');
  const inside = path.join(earlier, 'results-base', 'tests.json');
  fs.copyFileSync(tests15, inside);
  assertFails(runCli('train', ...base.slice(0, 4), '--out', earlier, ...quick, '--max-steps', '2', '--test-data', inside, '--overwrite'), 1, /would remove .*tests\.json/);
  assert.ok(fs.existsSync(inside), 'the test file stays');
});

test("train --config: the reference script's whole job from a file of its own setting names", async () => {
  const model = await makeFixtureModel(dir, 'f32');
  const out = path.join(dir, 'recipe-run');
  const recipe = path.join(dir, 'recipe.json');
  fs.writeFileSync(recipe, JSON.stringify({
    base_model: model, data_path: data, output_dir: out, test_data: tests15, device,
    num_epoch: 1, max_steps: 3, micro_batch_size: 2, gradient_accumulation_steps: 2, learning_rate: 1e-2, warmup_steps: 1,
    logging_steps: 1, cutoff_len: 256, lora_r: 4, lora_alpha: 8, lora_dropout: 0.05, val_set_size: 0,
  }));
  const r = runCli('train', '--config', recipe);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(fs.readFileSync(path.join(out, 'results.txt'), 'utf8').split('\n\n').length, 15, 'the results file, one block per prompt');
  const doc = dom(path.join(out, 'report.html'));
  assert.equal(doc.querySelectorAll('table.results tbody tr').length, 15);
  assert.equal(doc.querySelector('table.settings[data-group="LoRA"] tr[data-field="loraR"] td')!.textContent, '4');
});
