// `tang-lora generate`: poems from a base model and LoRA adapters, for a test file or one prompt.
import type { CommandModule } from 'yargs';
import { loadRecords } from '../data/records.js';
import { generatePoems, TANG_INSTRUCTION, writeResults } from '../generate/poems.js';
import type { AdapterRef } from '../generate/runner.js';

/** "adapter.gguf" or "adapter.gguf:0.5" */
function parseLora(spec: string): AdapterRef {
  const m = /^(.*?)(?::([0-9.eE+-]+))?$/.exec(spec)!;
  const scale = m[2] === undefined ? 1 : Number(m[2]);
  if (!Number.isFinite(scale)) throw new Error(`bad adapter scale in '${spec}'`);
  return { path: m[1]!, scale };
}

export const generateCommand: CommandModule = {
  command: 'generate',
  describe: 'Generate poems with a base model and LoRA adapters (reference sampling defaults)',
  builder: (y) =>
    y
      .option('model', { type: 'string', demandOption: true })
      .option('lora', { type: 'string', array: true, default: [], describe: 'adapter.gguf[:scale], repeatable' })
      .option('data', { type: 'string', describe: 'Test records (JSON array or JSONL of {instruction, input})' })
      .option('prompt', { type: 'string', describe: 'One first line' })
      .option('instruction', { type: 'string', default: TANG_INSTRUCTION })
      .option('out', { type: 'string', default: 'results.txt', describe: 'Results file for --data (results.jsonl beside it)' })
      .option('device', { type: 'string', default: 'auto', choices: ['cpu', 'cuda', 'auto'] })
      .option('temperature', { type: 'number', default: 0.1, describe: '0 = greedy' })
      .option('top-k', { type: 'number', default: 0 })
      .option('top-p', { type: 'number', default: 0.3 })
      .option('min-p', { type: 'number', default: 0 })
      .option('repeat-penalty', { type: 'number', default: 1 })
      .option('no-repeat-ngram-size', { type: 'number', default: 3 })
      .option('max-new-tokens', { type: 'number', default: 128 })
      .option('seed', { type: 'number', default: 42 })
      .option('parallel', { type: 'number', default: 8, describe: 'Prompts decoded together in one context' })
      .check((a) => {
        // a string is a usage error (exit 2), like an unknown flag
        if (!a.data === !a.prompt) return 'give exactly one of --data and --prompt';
        if (a.prompt !== undefined && !String(a.prompt).trim()) return 'the prompt is empty';
        if (!Number.isInteger(a.parallel) || (a.parallel as number) < 1 || (a.parallel as number) > 256) return '--parallel must be from 1 to 256';
        return true;
      }),
  handler: async (a) => {
    const records = a.data
      ? loadRecords(a.data as string, { requireOutput: false })
      : [{ instruction: a.instruction as string, input: a.prompt as string }];
    const results = await generatePoems(records, {
      model: a.model as string,
      adapters: (a.lora as string[]).map(parseLora),
      device: a.device as string,
      temperature: a.temperature as number,
      topK: a['top-k'] as number,
      topP: a['top-p'] as number,
      minP: a['min-p'] as number,
      repeatPenalty: a['repeat-penalty'] as number,
      noRepeatNgramSize: a['no-repeat-ngram-size'] as number,
      maxNewTokens: a['max-new-tokens'] as number,
      seed: a.seed as number,
      parallel: a.parallel as number,
      onResult: (r, i) => {
        if (a.data) console.error(`[${i + 1}/${records.length}] ${r.input} (${r.tokens} tokens, ${r.seconds.toFixed(2)} s)`);
      },
    });
    if (a.data) {
      const jsonl = writeResults(a.out as string, results);
      console.log(`tang-lora: ${results.length} poems -> ${a.out}, ${jsonl}`);
    } else {
      console.log(results[0]!.output);
    }
  },
};
