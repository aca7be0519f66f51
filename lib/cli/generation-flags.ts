// The flags of generation, shared by `generate` and `eval` (which can generate first).
import type { Argv } from 'yargs';
import { TEMPLATES, type TemplateName } from '../data/template.js';
import type { GenerateOptions } from '../generate/poems.js';
import type { AdapterRef } from '../generate/runner.js';

/** "adapter.gguf" or "adapter.gguf:0.5" */
function parseLora(spec: string): AdapterRef {
  const m = /^(.*?)(?::([0-9.eE+-]+))?$/.exec(spec)!;
  const scale = m[2] === undefined ? 1 : Number(m[2]);
  if (!Number.isFinite(scale)) throw new Error(`bad adapter scale in '${spec}'`);
  return { path: m[1]!, scale };
}

export function generationFlags<T>(y: Argv<T>) {
  return y
    .option('lora', { type: 'string', array: true, default: [] as string[], describe: 'adapter.gguf[:scale], repeatable' })
    .option('device', { type: 'string', default: 'auto', choices: ['cpu', 'cuda', 'auto'] })
    .option('temperature', { type: 'number', default: 0.1, describe: '0 = greedy' })
    .option('top-k', { type: 'number', default: 0 })
    .option('top-p', { type: 'number', default: 0.3 })
    .option('min-p', { type: 'number', default: 0 })
    .option('repeat-penalty', { type: 'number', default: 1 })
    .option('no-repeat-ngram-size', { type: 'number', default: 3 })
    .option('max-new-tokens', { type: 'number', default: 128 })
    .option('seed', { type: 'number', default: 42 })
    .option('stop', { type: 'string', array: true, default: [] as string[], describe: 'End a poem at this text, repeatable' })
    .option('parallel', { type: 'number', default: 8, describe: 'Prompts decoded together in one context' })
    .option('template', { type: 'string', default: 'llama2', choices: TEMPLATES, describe: "Prompt template (model: the GGUF's own chat template)" })
    .check((a) => {
      const p = a.parallel as number;
      if (!Number.isInteger(p) || p < 1 || p > 256) return '--parallel must be from 1 to 256';
      return true;
    });
}

/** The generation options the flags name; the model comes from --model. */
export function generationOptions(a: Record<string, unknown>, signal?: AbortSignal): GenerateOptions {
  return {
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
    stop: a.stop as string[],
    parallel: a.parallel as number,
    template: a.template as TemplateName,
    signal,
  };
}

/** An AbortSignal that Ctrl-C fires (a second Ctrl-C exits at once). */
export function interruptSignal(): AbortSignal {
  const ac = new AbortController();
  process.once('SIGINT', () => {
    ac.abort(new Error('interrupted'));
    process.once('SIGINT', () => process.exit(130));
  });
  return ac.signal;
}
