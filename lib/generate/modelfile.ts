// The Ollama Modelfile for a merged model (`merge --ollama`): `ollama create` takes the folder
// as it is and samples as the reference does.
import path from 'node:path';
import { writeFileAtomic } from '../atomic-write.js';
import { llama2Prompt, TANG_INSTRUCTION } from '../data/template.js';
import { GENERATION_OPTIONS } from './options.js';

/**
 * An Ollama Modelfile for a merged model: the recipe's prompt with the Tang instruction, the
 * user's text as the poem's first line, EOS stops it, the reference's sampling.
 */
export function modelfile(model: string): string {
  const d = GENERATION_OPTIONS;
  return [
    `FROM ./${model}`,
    `TEMPLATE """${llama2Prompt({ instruction: TANG_INSTRUCTION, input: '{{ .Prompt }}' })}"""`,
    'PARAMETER stop "</s>"',
    'PARAMETER stop "[INST]"',
    `PARAMETER temperature ${d.temperature.default}`,
    `PARAMETER top_p ${d.topP.default}`,
    `PARAMETER num_predict ${d.maxNewTokens.default}`,
    '',
  ].join('\n');
}

/** Writes `Modelfile` beside `model`; returns its path. */
export function writeModelfile(model: string): string {
  const file = path.join(path.dirname(model), 'Modelfile');
  writeFileAtomic(file, modelfile(path.basename(model)));
  return file;
}
