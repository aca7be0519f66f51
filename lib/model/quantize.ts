// quantize: GGUF F32/F16/BF16 (or any type) -> Q4_K_M, Q4_0, Q8_0, ... through libllama's quantizer.
import { checkWritable } from '../atomic-write.js';
import { checkRegularFile } from '../data/records.js';
import { addon } from '../native/binding.js';
import { checkOption, type OptionTable } from '../options.js';

export const QUANT_TYPES = ['f32', 'f16', 'bf16', 'q8_0', 'q4_0', 'q4_1', 'q4_k_s', 'q4_k_m', 'q5_k_m', 'q6_k'] as const;

export const QUANTIZE_OPTIONS = {
  type: { type: 'string', choices: QUANT_TYPES, default: 'q4_k_m', describe: 'Quantization of the output' },
} as const satisfies OptionTable;

export function quantize(input: string, out: string, type: string): Promise<void> {
  checkOption('type', QUANTIZE_OPTIONS.type, type);
  checkRegularFile(input, 'model file');
  checkWritable(out, 'output model');
  return addon().quantize(input, out, type);
}
