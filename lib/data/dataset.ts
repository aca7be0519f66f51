// `data`: training and test records from the chinese-poetry Tang corpus, in the reference's
// record shape: instruction, input = the first line, output = the rest of the poem.
import fs from 'node:fs';
import path from 'node:path';
import { loadRecords } from './records.js';
import { hanOnly, loadTangCorpus, type TangPoem } from './corpus.js';
import { shuffled } from './shuffle.js';
import { TANG_INSTRUCTION, type PoemRecord } from './template.js';
import { checkWritable, writeFileAtomic } from '../atomic-write.js';
import { resolveOptions, type OptionTable, type OptionValues } from '../options.js';
import { packageRoot } from '../package-root.js';

/** The options of `data`. */
export const DATA_OPTIONS = {
  train: { type: 'int', min: 0, default: 1040, describe: "Training records (the reference's num_train_data)" },
  test: { type: 'int', min: 0, default: 15, describe: 'Test records (no output), never in train' },
  seed: { type: 'int', min: 0, max: 0xffffffff, default: 42, describe: 'Shuffle seed' },
  out: { type: 'string', nonEmpty: true, default: 'data', describe: 'Folder for train.json and test.json' },
} as const satisfies OptionTable;

export interface TangDatasetOptions {
  train?: number;
  test?: number;
  seed?: number;
  corpus?: TangPoem[];
}

// A regular poem: every line two verses of the same 5 or 7 characters, e.g. "白日依山盡,黃河入海流。"
function regular(lines: string[]): boolean {
  const n = [...(lines[0]!.split(',')[0] ?? '')].length;
  const line = n === 5 || n === 7 ? new RegExp(`^\\p{Script=Han}{${n}},\\p{Script=Han}{${n}}[。？！]$`, 'u') : null;
  return line !== null && lines.length >= 2 && lines.every((l) => line.test(l));
}

/**
 * Regular poems (every line two verses of the same 5 or 7 characters, at least two lines), each first
 * line once; a seeded shuffle; the first `test` poems for testing, the next `train` for
 * training, so no test poem is in the training set.
 */
export function buildTangDataset(o: TangDatasetOptions = {}): { train: PoemRecord[]; test: PoemRecord[] } {
  const { corpus, ...given } = o;
  const { train: nTrain, test: nTest, seed } = resolveOptions(DATA_OPTIONS, given) as Required<OptionValues<typeof DATA_OPTIONS>>;
  const seen = new Set<string>();
  const poems = (corpus ?? loadTangCorpus()).filter((p) => {
    if (!regular(p.paragraphs)) return false;
    const key = hanOnly(p.paragraphs[0]!);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
  if (nTrain + nTest > poems.length) throw new Error(`the corpus has ${poems.length} regular poems, fewer than ${nTrain + nTest}`);
  const picked = shuffled(poems, seed).slice(0, nTest + nTrain);
  const record = (p: TangPoem) => ({ instruction: TANG_INSTRUCTION, input: p.paragraphs[0]!, output: p.paragraphs.slice(1).join('') });
  return {
    test: picked.slice(0, nTest).map(({ paragraphs }) => ({ instruction: TANG_INSTRUCTION, input: paragraphs[0]! })),
    train: picked.slice(nTest).map(record),
  };
}

/** The 16 poems the demo trains on, shipped with tang-lora (no corpus needed): data/tang-demo-16.json,
 * the training records buildTangDataset({ train: 16, test: 0, seed: 1 }) gives. */
export function demoDataset(): { train: PoemRecord[]; test: PoemRecord[] } {
  const file = path.join(packageRoot, 'data', 'tang-demo-16.json');
  return { train: loadRecords(file), test: [] };
}

/** Writes train.json and test.json into `dir` (each atomically); returns their paths. */
export function writeTangDataset(dir: string, data: { train: PoemRecord[]; test: PoemRecord[] }) {
  const files = { train: path.join(dir, 'train.json'), test: path.join(dir, 'test.json') };
  for (const f of Object.values(files)) checkWritable(f, 'data file');
  fs.mkdirSync(dir, { recursive: true });
  for (const k of ['train', 'test'] as const) {
    writeFileAtomic(files[k], JSON.stringify(data[k], null, 2) + '\n');
  }
  return files;
}
