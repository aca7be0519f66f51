// `tang-lora data`: training and test JSON from the chinese-poetry Tang corpus.
import type { CommandModule } from 'yargs';
import { buildTangDataset, writeTangDataset } from '../data/dataset.js';

export const dataCommand: CommandModule = {
  command: 'data',
  describe: 'Build train.json and test.json from the Tang corpus (chinese-poetry), deduplicated, disjoint',
  builder: (y) =>
    y
      .option('train', { type: 'number', default: 1040, describe: 'Training records' })
      .option('test', { type: 'number', default: 15, describe: 'Test records (no output), never in train' })
      .option('seed', { type: 'number', default: 42 })
      .option('out', { type: 'string', default: 'data', describe: 'Folder for train.json and test.json' }),
  handler: (a) => {
    const data = buildTangDataset({ train: a.train as number, test: a.test as number, seed: a.seed as number });
    const files = writeTangDataset(a.out as string, data);
    console.log(`tang-lora: ${data.train.length} training records -> ${files.train}, ${data.test.length} test records -> ${files.test}`);
  },
};
