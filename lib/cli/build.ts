// `tang-lora build`: compiles the addon from source on this machine (instead of a prebuilt).
import type { CommandModule } from 'yargs';
import { buildFromSource } from '../index.js';

interface Args {
  cuda?: boolean;
}

export const buildCommand: CommandModule<object, Args> = {
  command: 'build',
  describe: 'Compile the native addon from source here (needs git, CMake, a C++ compiler; --cuda: nvcc and cuBLAS)',
  builder: (y) => y.option('cuda', { type: 'boolean', describe: 'Require the CUDA backend (--no-cuda: CPU only; default: CUDA when found)' }),
  handler: async (a) => {
    await buildFromSource({ cuda: a.cuda });
  },
};
