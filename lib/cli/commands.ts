// Every command of the `tang-lora` CLI and the one parser over them: main.ts runs it; the tests
// parse with it (handlers replaced) to walk every flag --help lists.
import yargs, { type CommandModule } from 'yargs';
import {
  CONVERT_OPTIONS, CREATE_MODEL_OPTIONS, DATA_OPTIONS, EXPORT_OPTIONS, GENERATION_OPTIONS, IMPORT_OPTIONS, MERGE_OPTIONS, QUANTIZE_OPTIONS, RECIPE_OPTIONS,
  type OptionTable,
} from '../index.js';
import { buildCommand } from './build.js';
import { convertCommand } from './convert.js';
import { mergeCommand } from './merge.js';
import { exportCommand, importCommand } from './peft.js';
import { createModelCommand } from './create-model.js';
import { dataCommand } from './data.js';
import { demoCommand, DEMO_OPTIONS } from './demo.js';
import { evalCommand } from './eval.js';
import { generateCommand } from './generate.js';
import { infoCommand } from './info.js';
import { inspectCommand } from './inspect.js';
import { joinNoFlags } from './options.js';
import { quantizeCommand } from './quantize.js';
import { trainCommand } from './train.js';

export const COMMANDS: CommandModule<any, any>[] = [
  infoCommand, inspectCommand, trainCommand, createModelCommand, quantizeCommand, convertCommand, exportCommand, importCommand, mergeCommand,
  generateCommand, evalCommand, dataCommand, demoCommand, buildCommand,
];

/** The option tables each command's flags come from. */
export const COMMAND_TABLES: Record<string, OptionTable[]> = {
  train: [RECIPE_OPTIONS],
  'create-model': [CREATE_MODEL_OPTIONS],
  quantize: [QUANTIZE_OPTIONS],
  convert: [CONVERT_OPTIONS],
  export: [EXPORT_OPTIONS],
  import: [IMPORT_OPTIONS],
  merge: [MERGE_OPTIONS],
  generate: [GENERATION_OPTIONS],
  eval: [GENERATION_OPTIONS],
  data: [DATA_OPTIONS],
  demo: [DEMO_OPTIONS],
};

/** The parser of `argv` (without node and the script), over `commands`. */
export function parser(argv: string[], commands = COMMANDS) {
  let y = yargs(joinNoFlags(argv, Object.values(COMMAND_TABLES).flat())).scriptName('tang-lora');
  for (const c of commands) y = y.command(c);
  return y.demandCommand(1, 'Name a command (see --help)').strict().help();
}
