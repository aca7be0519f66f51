// `tang-lora merge --model base.gguf --lora adapter.gguf[:scale] --out merged.gguf [--type] [--ollama]`
// (lib/model/merge.ts).
import type { CommandModule } from 'yargs';
import { inspect, MERGE_OPTIONS, mergeAdapter, writeModelfile } from '../index.js';
import { bytes } from './format.js';
import { parseLora } from './generation-flags.js';
import { addOptions, readOptions } from './options.js';

export const mergeCommand: CommandModule<object, Record<string, unknown>> = {
  command: 'merge',
  describe: 'Fold LoRA adapters into a GGUF base: one standalone model (--ollama: and a Modelfile)',
  builder: (y) => addOptions(y, MERGE_OPTIONS),
  handler: async (a) => {
    const o = readOptions(MERGE_OPTIONS, a);
    await mergeAdapter(o.model!, (o.lora ?? []).map(parseLora), o.out!, { type: o.type });
    const s = await inspect(o.out!);
    console.log(`${o.out}: ${bytes(s.fileSize)}, ${Object.entries(s.tensorTypes).map(([t, n]) => `${t} x${n}`).join(', ')}`);
    if (o.ollama) {
      const file = writeModelfile(o.out!);
      console.log(`${file}: ollama create <name> -f ${file}`);
    }
  },
};
