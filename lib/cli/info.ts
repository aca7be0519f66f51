// `tang-lora info`: the llama.cpp commit, compiled backends and devices.
import type { CommandModule } from 'yargs';
import { info } from '../index.js';
import { bytes } from './format.js';

interface Args {
  json: boolean;
}

export const infoCommand: CommandModule<object, Args> = {
  command: 'info',
  describe: 'Show the llama.cpp commit, the ggml backends compiled in and the devices found',
  builder: (y) => y.option('json', { type: 'boolean', default: false, describe: 'Print JSON' }),
  handler: async (args) => {
    const s = await info();
    if (args.json) {
      console.log(JSON.stringify(s, null, 2));
      return;
    }
    console.log(`llama.cpp  ${s.llamaCppCommit}`);
    console.log(`backends   ${s.backends.join(', ')}`);
    for (const d of s.devices) {
      console.log(`device     ${d.name} (${d.type}) ${d.description}: ${bytes(d.memoryFree)} free of ${bytes(d.memoryTotal)}`);
    }
  },
};
