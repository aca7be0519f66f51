// The options of generation (`generate`, `eval` that generates first): sampling with the
// reference's defaults (Hugging Face generate() semantics), adapters, batching, template.
import { TEMPLATES } from '../data/template.js';
import type { OptionTable } from '../options.js';

export const GENERATION_OPTIONS = {
  lora: { type: 'strings', default: [], describe: 'adapter.gguf[:scale], repeatable' },
  device: { type: 'string', nonEmpty: true, default: 'auto', describe: 'cpu, cuda or auto' },
  temperature: { type: 'number', min: 0, max: 100, default: 0.1, reference: ['temperature'], describe: 'Sampling temperature (0 = greedy)' },
  topK: { type: 'int', min: 0, default: 0, reference: ['top_k'], describe: 'Keep the k likeliest tokens (0 = off)' },
  topP: { type: 'number', above: 0, max: 1, default: 0.3, reference: ['top_p'], describe: 'Nucleus sampling mass (1 = off)' },
  minP: { type: 'number', min: 0, below: 1, default: 0, reference: ['min_p'], describe: 'Drop tokens below this share of the likeliest (0 = off)' },
  repeatPenalty: { type: 'number', above: 0, max: 100, default: 1, reference: ['repetition_penalty'], describe: 'Penalty on repeated tokens (1 = off)' },
  noRepeatNgramSize: { type: 'int', min: 0, max: 1024, default: 3, reference: ['no_repeat_ngram_size'], describe: 'Never repeat an n-gram of this size (0 = off)' },
  maxNewTokens: { type: 'int', min: 1, max: 1 << 20, default: 128, reference: ['max_new_tokens'], describe: 'Tokens generated per prompt at most' },
  seed: { type: 'int', min: 0, max: 0xffffffff, default: 42, describe: 'Sampling seed' },
  stop: { type: 'strings', default: [], describe: 'End a poem at this text, repeatable' },
  parallel: { type: 'int', min: 1, max: 256, default: 8, describe: 'Prompts decoded together in one context' },
  template: { type: 'string', choices: TEMPLATES, default: 'llama2', describe: "Prompt template (model: the GGUF's own chat template)" },
} as const satisfies OptionTable;
