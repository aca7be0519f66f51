// Scoring poems (hand-made examples with hand-computed scores), the corpus lookup of the
// reference's 15 test prompts, `tang-lora eval`, and `tang-lora data`.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { buildTangDataset, charAccuracy, checkForm, chrF, exactLines, FirstLineIndex, loadRecords, loadTangCorpus, scorePoems } from '../lib/index.js';
import { repoRoot, scratchDir } from './helpers/paths.js';
import { assertFails, runCli } from './helpers/cli.js';

const dir = scratchDir('eval');
const cli = runCli;
const close = (a: number | null | undefined, b: number) => assert.ok(a !== null && a !== undefined && Math.abs(a - b) < 1e-9, `${a} != ${b}`);

test('chrF, character accuracy and exact lines on hand-made examples', () => {
  close(chrF('ab', 'ab'), 100);
  // orders 1 and 2: P = R = (1/2 + 0) / 2 = 1/4, F2 = 1/4
  close(chrF('ab', 'ac'), 25);
  // order 1: P 2/3 R 1; order 2: P 1/2 R 1; order 3 has no reference 3-gram. P 7/12, R 1: F2 = 5 P R / (4 P + R) = 7/8
  close(chrF('abc', 'ab'), 87.5);
  close(chrF('', 'ab'), 0);
  close(charAccuracy('白日依山盡,黃河入江流。', '白日依山盡,黃河入海流。'), 0.9);
  close(charAccuracy('白日', '白日依山'), 0.5);
  assert.deepEqual(exactLines('欲窮千里目,更上二層樓。', '欲窮千里目,更上一層樓。'), { matched: 1, total: 2 });
});

test('the form check: verse length, complete couplets, no repeated lines', () => {
  const first = '白日依山盡,黃河入海流。';
  assert.equal(checkForm(first, '欲窮千里目,更上一層樓。').ok, true);
  assert.equal(checkForm(first, '欲窮千里目,更上一層樓。').verseLength, 5);
  assert.equal(checkForm(first, '欲窮千里目,更上一層').completeCouplets, false);
  assert.equal(checkForm(first, '欲窮千里目。').completeCouplets, false);
  assert.equal(checkForm(first, '欲窮千里,更上一層樓。').lengthsOk, false);
  assert.equal(checkForm(first, '欲窮千里目,黃河入海流。').noRepeats, false);
  assert.equal(checkForm('白日依山盡好,黃河入海流。', '欲窮千里目,更上一層樓。').verseLength, null);
});

test('the corpus knows 14 of the reference test prompts; scores of a results file', () => {
  const corpus = loadTangCorpus();
  assert.ok(corpus.length > 57000, `${corpus.length} Tang poems`);
  const index = new FirstLineIndex(corpus);
  const prompts = loadRecords(path.join(repoRoot, 'test', 'data', 'tang-test-15.json'), { requireOutput: false });
  const found = prompts.filter((p) => index.find(p.input));
  assert.equal(found.length, 14);
  assert.equal(index.find('昨夜星辰昨夜風，畫樓西畔桂堂東。')?.author, '李商隱', 'punctuation does not matter');

  const { summary, poems } = scorePoems(
    [
      { input: '白日依山盡,黃河入海流。', output: '欲窮千里目,更上一層樓。' },
      { input: '君問歸期未有期,巴山夜雨漲秋池。', output: '何當共剪西窗燭,卻話巴山夜雨時。' },
      { input: '無此詩句也,無此詩句哉。', output: '全然不相干,全然不相干。' },
    ],
    corpus,
  );
  assert.equal(summary.prompts, 3);
  assert.equal(summary.known, 2);
  close(poems[0]!.charAccuracy, 1);
  close(poems[1]!.charAccuracy, 13 / 14); // the corpus writes 却 where the response has 卻
  assert.deepEqual(poems[1]!.exactLines, { matched: 1, total: 2 });
  close(summary.charAccuracy, (poems[0]!.charAccuracy! + poems[1]!.charAccuracy!) / 2);
  assert.equal(poems[2]!.known, false);
  assert.equal(poems[2]!.form.noRepeats, false);
  assert.equal(summary.wellFormed, 2);
});

test('eval writes eval.json with a baseline beside; bad input is one line and exit 1', () => {
  const write = (name: string, rows: object[]) => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    return f;
  };
  const after = write('after.jsonl', [{ input: '白日依山盡,黃河入海流。', output: '欲窮千里目,更上一層樓。', tokens: 9, seconds: 1 }]);
  const before = write('before.jsonl', [{ input: '白日依山盡,黃河入海流。', output: '山山山山山。', tokens: 9, seconds: 1 }]);
  const out = path.join(dir, 'eval.json');
  const r = cli('eval', '--results', after, '--baseline', before, '--out', out);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /this run .*1\/1 known .*chars 100\.0%/);
  assert.match(r.stdout, /baseline .*chars 0\.0%/);
  const report = JSON.parse(fs.readFileSync(out, 'utf8'));
  assert.equal(report.summary.known, 1);
  assert.equal(report.baseline.summary.charAccuracy, 0);
  for (const [args, re] of [
    [['--results', path.join(dir, 'none.jsonl')], /does not exist/],
    [['--results', write('bad.jsonl', [{ input: 'x' }])], /result 0 needs string fields/],
  ] as const) {
    assertFails(cli('eval', ...args, '--out', path.join(dir, 'bad.json')), 1, re);
  }
  assert.ok(!fs.existsSync(path.join(dir, 'bad.json')));
});

test('data: regular poems, deduplicated, test never in train, reproducible by seed', () => {
  const a = buildTangDataset({ train: 200, test: 20, seed: 5 });
  assert.equal(a.train.length, 200);
  assert.equal(a.test.length, 20);
  const trainInputs = new Set(a.train.map((r) => r.input));
  assert.equal(trainInputs.size, 200, 'no first line twice');
  assert.ok(a.test.every((r) => !trainInputs.has(r.input) && r.output === undefined));
  assert.ok(a.train.every((r) => checkForm(r.input, r.output!).lengthsOk && r.output!.includes(',') && !r.output!.includes('，')));
  assert.deepEqual(buildTangDataset({ train: 200, test: 20, seed: 5 }), a);
  assert.notDeepEqual(buildTangDataset({ train: 200, test: 20, seed: 6 }).train, a.train);

  const out = path.join(dir, 'data');
  const r = cli('data', '--train', '30', '--test', '5', '--out', out);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(loadRecords(path.join(out, 'train.json')).length, 30);
  const bad = cli('data', '--train', '-1', '--out', path.join(dir, 'nodata'));
  assert.equal(bad.status, 2, 'a value out of its range is a usage error');
  assert.match(bad.stderr, /--train must be an integer >= 0/);
  assert.ok(!fs.existsSync(path.join(dir, 'nodata')));
});
