#!/usr/bin/env node
// The `tang-lora` command line: one file per command, each a thin handler over the public API.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { createModelCommand } from './create-model.js';
import { dataCommand } from './data.js';
import { demoCommand } from './demo.js';
import { evalCommand } from './eval.js';
import { generateCommand } from './generate.js';
import { infoCommand } from './info.js';
import { inspectCommand } from './inspect.js';
import { quantizeCommand } from './quantize.js';
import { trainCommand } from './train.js';

const cli = yargs(hideBin(process.argv))
  .scriptName('tang-lora')
  .command(infoCommand)
  .command(inspectCommand)
  .command(trainCommand)
  .command(createModelCommand)
  .command(quantizeCommand)
  .command(generateCommand)
  .command(evalCommand)
  .command(dataCommand)
  .command(demoCommand)
  .demandCommand(1, 'Name a command (see --help)')
  .strict()
  .help()
  .fail((msg, err) => {
    // A usage error (unknown flag, missing argument, a failed check) exits 2; a failure of the
    // work itself (an Error thrown by a handler) exits 1.
    const failed = err instanceof Error;
    const line = String(failed ? err.message : msg).split('\n')[0];
    console.error(`tang-lora: ${line}`);
    process.exit(failed ? 1 : 2);
  });

try {
  await cli.parseAsync();
} catch (e) {
  console.error(`tang-lora: ${String((e as Error).message ?? e).split('\n')[0]}`);
  process.exit(1);
}
