// `tang-lora convert <hf-folder> --out model.gguf [--type ...]`: a Hugging Face model folder to
// GGUF (lib/hf/convert.ts), with a progress bar on a terminal.
import type { CommandModule } from 'yargs';
import { convertHf, CONVERT_OPTIONS, inspect } from '../index.js';
import { bytes } from './format.js';
import { addOptions, readOptions } from './options.js';

export const convertCommand: CommandModule<object, Record<string, unknown>> = {
  command: 'convert <folder>',
  describe: 'Convert a Hugging Face model folder (config.json, safetensors, tokenizer.json) to GGUF',
  builder: (y) =>
    addOptions(y.positional('folder', { type: 'string', demandOption: true, describe: 'The model folder' }), CONVERT_OPTIONS),
  handler: async (a) => {
    const { type, out } = readOptions(CONVERT_OPTIONS, a);
    const tty = process.stderr.isTTY === true;
    await convertHf(a.folder as string, out!, {
      type,
      onProgress: (done, total) => tty && process.stderr.write(`\r\x1b[Kconverting ${bytes(done)} of ${bytes(total)} (${Math.round((100 * done) / total)}%)`),
    });
    if (tty) process.stderr.write('\r\x1b[K');
    const s = await inspect(out!);
    console.log(`${out}: ${s.architecture}, ${s.nLayer} layers, vocabulary ${s.nVocab}, ${bytes(s.fileSize)}, ` +
      Object.entries(s.tensorTypes).map(([t, n]) => `${t} x${n}`).join(', '));
  },
};
