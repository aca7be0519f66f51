// `tang-lora quantize`: a GGUF model to another quantization through libllama.
import type { CommandModule } from 'yargs';
import { inspect, quantize, QUANTIZE_OPTIONS } from '../index.js';
import { bytes } from './format.js';
import { addOptions, readOptions } from './options.js';

export const quantizeCommand: CommandModule<object, Record<string, unknown>> = {
  command: 'quantize <input> <out>',
  describe: "Quantize a GGUF model (e.g. F16 -> Q4_K_M) with llama.cpp's quantizer",
  builder: (y) =>
    addOptions(y.positional('input', { type: 'string', demandOption: true }).positional('out', { type: 'string', demandOption: true }), QUANTIZE_OPTIONS),
  handler: async (a) => {
    await quantize(a.input as string, a.out as string, readOptions(QUANTIZE_OPTIONS, a).type!);
    const s = await inspect(a.out as string);
    const types = Object.entries(s.tensorTypes).map(([t, n]) => `${t} x${n}`).join(', ');
    console.log(`${a.out}: ${bytes(s.fileSize)}, ${types}`);
  },
};
