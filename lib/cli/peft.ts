// `tang-lora export` and `tang-lora import`: GGUF LoRA adapters to and from peft folders
// (lib/hf/peft.ts).
import type { CommandModule } from 'yargs';
import { EXPORT_OPTIONS, exportPeft, IMPORT_OPTIONS, importPeft } from '../index.js';
import { addOptions, readOptions } from './options.js';

export const exportCommand: CommandModule<object, Record<string, unknown>> = {
  command: 'export',
  describe: 'Write a GGUF adapter as a peft folder (adapter_model.safetensors, adapter_config.json) for PeftModel.from_pretrained',
  builder: (y) => addOptions(y, EXPORT_OPTIONS),
  handler: (a) => {
    const o = readOptions(EXPORT_OPTIONS, a);
    exportPeft(o.lora!, o.base!, o.out!);
    console.log(`${o.out}: adapter_model.safetensors, adapter_config.json`);
  },
};

export const importCommand: CommandModule<object, Record<string, unknown>> = {
  command: 'import',
  describe: 'Write a peft LoRA folder as a GGUF adapter for a GGUF base (generate, eval, llama.cpp)',
  builder: (y) => addOptions(y, IMPORT_OPTIONS),
  handler: async (a) => {
    const o = readOptions(IMPORT_OPTIONS, a);
    await importPeft(o.peft!, o.base!, o.out!);
    console.log(`${o.out}: GGUF LoRA adapter`);
  },
};
