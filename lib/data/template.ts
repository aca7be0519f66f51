// Prompt templates. The default is the reference recipe's Llama-2 template, exactly; chatml is
// the ChatML turn format; model is the GGUF's own chat template, applied by libllama.
import type { Tokenizer } from '../model/tokenizer.js';

export interface PoemRecord {
  instruction: string;
  input: string;
  output?: string;
}

/** The reference's instruction for every Tang record. */
export const TANG_INSTRUCTION = '以下是一首唐詩的第一句話,請用你的知識判斷並完成整首詩。';
export const SYSTEM_PROMPT = 'You are a helpful assistant and good at writing Tang poem. 你是一个乐于助人的助手且擅长写唐诗。';
export const TEMPLATES = ['llama2', 'chatml', 'model'] as const;
export type TemplateName = (typeof TEMPLATES)[number];

/** The reference prompt: [INST] <<SYS>> system <</SYS>> instruction, input [/INST]. */
export function llama2Prompt(r: PoemRecord): string {
  return `[INST] <<SYS>>\n${SYSTEM_PROMPT}\n<</SYS>>\n${r.instruction}\n${r.input}\n[/INST]`;
}

/** ChatML: system and user turns, then the assistant's turn opened. */
export function chatmlPrompt(r: PoemRecord): string {
  return `<|im_start|>system\n${SYSTEM_PROMPT}<|im_end|>\n<|im_start|>user\n${r.instruction}\n${r.input}<|im_end|>\n<|im_start|>assistant\n`;
}

export interface PromptTemplate {
  prompt(r: PoemRecord): string;
  /** prompt + output; the tokenizer adds BOS and EOS is appended as a token */
  trainingText(r: PoemRecord): string;
}

/** A template by name; `model` reads the chat template of the tokenizer's model. */
export function promptTemplate(name: TemplateName, tokenizer?: Pick<Tokenizer, 'chatPrompt'>): PromptTemplate {
  switch (name) {
    case 'llama2': // the reference puts a space between [/INST] and the output
      return { prompt: llama2Prompt, trainingText: (r) => `${llama2Prompt(r)} ${r.output ?? ''}` };
    case 'chatml':
      return { prompt: chatmlPrompt, trainingText: (r) => chatmlPrompt(r) + (r.output ?? '') };
    case 'model': {
      if (!tokenizer) throw new Error('the model template needs the model');
      const prompt = (r: PoemRecord) => tokenizer.chatPrompt(SYSTEM_PROMPT, `${r.instruction}\n${r.input}`);
      prompt({ instruction: '', input: '' }); // fails now if the model has no usable template
      return { prompt, trainingText: (r) => prompt(r) + (r.output ?? '') };
    }
    default:
      throw new Error(`unknown template '${name}' (${TEMPLATES.join(', ')})`);
  }
}
