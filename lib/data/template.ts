// Prompt templates. The default is the reference recipe's Llama-2 template, exactly.

export interface PoemRecord {
  instruction: string;
  input: string;
  output?: string;
}

export const SYSTEM_PROMPT = 'You are a helpful assistant and good at writing Tang poem. 你是一个乐于助人的助手且擅长写唐诗。';

/** The reference prompt: [INST] <<SYS>> system <</SYS>> instruction, input [/INST]. */
export function llama2Prompt(r: PoemRecord): string {
  return `[INST] <<SYS>>\n${SYSTEM_PROMPT}\n<</SYS>>\n${r.instruction}\n${r.input}\n[/INST]`;
}

/** Training text = prompt + " " + output (the tokenizer adds BOS; EOS is appended as a token). */
export function llama2TrainingText(r: PoemRecord): string {
  return `${llama2Prompt(r)} ${r.output ?? ''}`;
}
