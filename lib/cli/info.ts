// `tang-lora info`: which addon was loaded and why, the llama.cpp commit, compiled backends,
// devices, and the CPU backend's extensions and AMX kernels (in use, or why not).
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
    console.log(`addon      ${s.addon.file} (${s.addon.variant}: ${s.addon.why})`);
    console.log(`llama.cpp  ${s.llamaCppCommit}`);
    console.log(`backends   ${s.backends.join(', ')}`);
    for (const d of s.devices) {
      console.log(`device     ${d.name} (${d.type}) ${d.description}: ${bytes(d.memoryFree)} free of ${bytes(d.memoryTotal)}`);
    }
    console.log(`cpu        compiled for ${s.cpu.isa.join(' ') || 'the baseline'}; repacked weights: ${s.cpu.extraBufferTypes.join(', ') || 'none'}`);
    console.log(`amx        ${s.cpu.amx}`);
  },
};
