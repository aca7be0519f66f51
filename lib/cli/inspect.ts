// `tang-lora inspect <model.gguf>`: what a GGUF file holds.
import type { CommandModule } from 'yargs';
import { inspect } from '../index.js';
import { bytes } from './format.js';

interface Args {
  model: string;
  json: boolean;
}

export const inspectCommand: CommandModule<object, Args> = {
  command: 'inspect <model>',
  describe: "Show a GGUF file's architecture, dimensions, vocabulary and tensor types",
  builder: (y) =>
    y
      .positional('model', { type: 'string', demandOption: true, describe: 'Path to a .gguf file' })
      .option('json', { type: 'boolean', default: false, describe: 'Print JSON' }),
  handler: async (args) => {
    const s = await inspect(args.model);
    if (args.json) {
      console.log(JSON.stringify(s, null, 2));
      return;
    }
    const types = Object.entries(s.tensorTypes)
      .map(([t, n]) => `${t} x${n}`)
      .join(', ');
    console.log(`file          ${s.path} (${bytes(s.fileSize)}, GGUF v${s.version})`);
    console.log(`type          ${s.type || '(unset)'}`);
    console.log(`architecture  ${s.architecture || '(unset)'}${s.name ? ` "${s.name}"` : ''}`);
    console.log(`layers        ${s.nLayer}`);
    console.log(`dims          embd ${s.nEmbd}, ffn ${s.nFf}, heads ${s.nHead}, kv heads ${s.nHeadKv}`);
    console.log(`context       ${s.nCtxTrain}`);
    console.log(`vocabulary    ${s.nVocab}`);
    console.log(`tensors       ${s.nTensors} (${(s.nParams / 1e6).toFixed(2)}M parameters): ${types}`);
  },
};
