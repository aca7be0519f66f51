// The reference script's whole job (../shared/spec/recipe.md) in one call: train, then a poem for
// every test prompt with the trained adapter (the reference's sampling, batched), its results
// files, scores where the corpus knows the poems, and the poems in the run's report. train/ and
// generate/ never import each other: they meet here. The test file is checked before training.
import path from 'node:path';
import { CorpusMissing } from './data/corpus.js';
import { loadRecords } from './data/records.js';
import { evaluate, readResults } from './eval/evaluate.js';
import { generatePoems, writeResults } from './generate/poems.js';
import { resolveOptions, type OptionTable, type OptionValues } from './options.js';
import type { TestResults } from './train/report.js';
import { TRAIN_OPTIONS } from './train/options.js';
import { train, type TrainOptions, type TrainResult } from './train/train.js';

export const TEST_OPTIONS = {
  testData: {
    group: 'Test', type: 'string', nonEmpty: true, reference: ['test_data', 'test_data_path', 'test_file'],
    describe: 'Test prompts (the reference test file): after training, a poem for each, results.txt and scores',
  },
  compareBase: { group: 'Test', type: 'boolean', default: false, describe: 'With --test-data: also the base model alone, side by side' },
} as const satisfies OptionTable;

/** What `tang-lora train` takes: training's options and the test prompts'. */
export const RECIPE_OPTIONS = { ...TRAIN_OPTIONS, ...TEST_OPTIONS } as const satisfies OptionTable;

export type TestSettings = OptionValues<typeof TEST_OPTIONS>;

export interface RecipeResult extends TrainResult {
  results?: string; // results.jsonl of the test prompts (results.txt beside it)
  baseResults?: string; // with compareBase: results-base/results.jsonl
  eval?: string; // eval.json, when the corpus could score them
}

/** train(), then the test prompts when `testData` names a test file. */
export async function trainAndTest(options: TrainOptions & TestSettings): Promise<RecipeResult> {
  const { testData, compareBase, ...training } = options;
  const t = resolveOptions(TEST_OPTIONS, { testData, compareBase });
  if (t.compareBase && !t.testData) throw new Error('--compare-base needs --test-data');
  if (!t.testData) return train(training);
  const tests = loadRecords(t.testData, { requireOutput: false });
  const files: Omit<RecipeResult, keyof TrainResult> = {};
  const run = async (adapter: string): Promise<TestResults> => {
    const gen = (adapters: { path: string }[]) =>
      generatePoems(tests, { model: training.model, adapters, device: training.device, template: training.template, signal: training.signal });
    files.results = writeResults(path.join(training.out, 'results.txt'), await gen([{ path: adapter }]));
    if (t.compareBase) files.baseResults = writeResults(path.join(training.out, 'results-base', 'results.txt'), await gen([]));
    try {
      const out = path.join(training.out, 'eval.json');
      const e = evaluate({ results: files.results, baseline: files.baseResults, out });
      files.eval = out;
      return { adapter: e.run.poems, base: e.baseline?.poems, summary: { adapter: e.run.summary, base: e.baseline?.summary }, settings: t };
    } catch (e) {
      if (!(e instanceof CorpusMissing)) throw e;
      training.onNotice?.(`no scores for the test prompts: ${e.message}`);
      const base = files.baseResults ? readResults(files.baseResults) : undefined;
      return { adapter: readResults(files.results), base, note: `No scores: ${e.message}.`, settings: t };
    }
  };
  const result = await train({ ...training, testPrompts: { file: t.testData, run } });
  return { ...result, ...files };
}
