// `tang-lora create-model`: a random-initialized llama-family GGUF with a real vocabulary.
import type { CommandModule } from 'yargs';
import { createModel, CREATE_MODEL_OPTIONS } from '../index.js';
import { bytes } from './format.js';
import { addOptions, readOptions } from './options.js';

export const createModelCommand: CommandModule<object, Record<string, unknown>> = {
  command: 'create-model',
  describe: 'Write a random-initialized llama-family GGUF (for tests, benchmarks and the demo)',
  builder: (y) => addOptions(y, CREATE_MODEL_OPTIONS),
  handler: async (a) => {
    const { out, ...o } = readOptions(CREATE_MODEL_OPTIONS, a);
    const r = await createModel(out!, o);
    console.log(`${out}: ${(r.nParams / 1e6).toFixed(1)}M parameters, vocabulary ${r.nVocab}, ${bytes(r.fileSize)}`);
  },
};
