// `tang-lora generate`: poems from a base model and LoRA adapters, for a test file (results
// files) or one prompt (streamed to stdout).
import type { CommandModule } from 'yargs';
import { checkResultsFile, generatePoems, loadRecords, TANG_INSTRUCTION, writeResults } from '../index.js';
import { generationFlags, generationOptions, interruptSignal } from './generation-flags.js';
import { UsageError } from './options.js';

export const generateCommand: CommandModule = {
  command: 'generate',
  describe: 'Generate poems with a base model and LoRA adapters (reference sampling defaults)',
  builder: (y) =>
    generationFlags(
      y
        .option('model', { type: 'string', demandOption: true })
        .option('data', { type: 'string', describe: 'Test records (JSON array or JSONL of {instruction, input})' })
        .option('prompt', { type: 'string', describe: 'One first line; the poem streams to stdout' })
        .option('instruction', { type: 'string', default: TANG_INSTRUCTION })
        .option('out', { type: 'string', default: 'results.txt', describe: 'Results file for --data (results.jsonl beside it)' }),
    ),
  handler: async (a) => {
    if (!a.data === !a.prompt) throw new UsageError('give exactly one of --data and --prompt');
    if (a.prompt !== undefined && !String(a.prompt).trim()) throw new UsageError('the prompt is empty');
    if (a.data) checkResultsFile(a.out as string);
    const records = a.data
      ? loadRecords(a.data as string, { requireOutput: false })
      : [{ instruction: a.instruction as string, input: a.prompt as string }];
    let shown = '';
    const results = await generatePoems(records, {
      ...generationOptions(a, interruptSignal()),
      onResult: (r, i) => {
        if (a.data) console.error(`[${i + 1}/${records.length}] ${r.input} (${r.tokens} tokens, ${r.seconds.toFixed(2)} s)`);
      },
      onText: a.data
        ? undefined
        : (text) => {
            process.stdout.write(text.slice(shown.length));
            shown = text;
          },
    });
    if (a.data) {
      const jsonl = writeResults(a.out as string, results);
      console.log(`tang-lora: ${results.length} poems -> ${a.out}, ${jsonl}`);
    } else {
      process.stdout.write(results[0]!.output.slice(shown.trimEnd().length) + '\n');
    }
  },
};
