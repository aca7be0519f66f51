// `tang-lora create-model`: a random-initialized llama-family GGUF with a real vocabulary.
import type { CommandModule } from 'yargs';
import { createModel, SHAPES } from '../model/create.js';
import { bytes } from './format.js';

export const createModelCommand: CommandModule = {
  command: 'create-model',
  describe: 'Write a random-initialized llama-family GGUF (for tests, benchmarks and the demo)',
  builder: (y) =>
    y
      .option('shape', { type: 'string', default: 'tiny', choices: Object.keys(SHAPES) })
      .option('type', { type: 'string', default: 'f32', describe: 'f32 f16 bf16 q8_0 q4_0 q4_1 q4_k q5_k q6_k' })
      .option('vocab', { type: 'string', choices: ['llama-spm', 'llama-bpe', 'qwen2'], describe: "default: the shape's" })
      .option('out', { type: 'string', demandOption: true })
      .option('seed', { type: 'number', default: 0 }),
  handler: async (a) => {
    const r = await createModel(a.out as string, {
      shape: a.shape as string,
      type: a.type as string,
      vocab: a.vocab as 'llama-spm' | undefined,
      seed: a.seed as number,
    });
    console.log(`${a.out}: ${(r.nParams / 1e6).toFixed(1)}M parameters, vocabulary ${r.nVocab}, ${bytes(r.fileSize)}`);
  },
};
