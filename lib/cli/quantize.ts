// `tang-lora quantize`: a GGUF model to another quantization through libllama.
import type { CommandModule } from 'yargs';
import { inspect } from '../system.js';
import { QUANT_TYPES, quantize } from '../model/quantize.js';
import { bytes } from './format.js';

export const quantizeCommand: CommandModule = {
  command: 'quantize <input> <out>',
  describe: 'Quantize a GGUF model (e.g. F16 -> Q4_K_M) with llama.cpp\'s quantizer',
  builder: (y) =>
    y
      .positional('input', { type: 'string', demandOption: true })
      .positional('out', { type: 'string', demandOption: true })
      .option('type', { type: 'string', default: 'q4_k_m', choices: [...QUANT_TYPES] }),
  handler: async (a) => {
    await quantize(a.input as string, a.out as string, a.type as string);
    const s = await inspect(a.out as string);
    const types = Object.entries(s.tensorTypes).map(([t, n]) => `${t} x${n}`).join(', ');
    console.log(`${a.out}: ${bytes(s.fileSize)}, ${types}`);
  },
};
