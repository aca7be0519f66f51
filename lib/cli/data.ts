// `tang-lora data`: training and test JSON from the chinese-poetry Tang corpus.
import type { CommandModule } from 'yargs';
import { buildTangDataset, DATA_OPTIONS, writeTangDataset } from '../index.js';
import { addOptions, readOptions } from './options.js';

export const dataCommand: CommandModule<object, Record<string, unknown>> = {
  command: 'data',
  describe: 'Build train.json and test.json from the Tang corpus (chinese-poetry), deduplicated, disjoint',
  builder: (y) => addOptions(y, DATA_OPTIONS),
  handler: (a) => {
    const { out, ...o } = readOptions(DATA_OPTIONS, a);
    const data = buildTangDataset(o);
    const files = writeTangDataset(out!, data);
    console.log(`tang-lora: ${data.train.length} training records -> ${files.train}, ${data.test.length} test records -> ${files.test}`);
  },
};
