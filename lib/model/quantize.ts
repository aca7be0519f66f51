// quantize: GGUF F32/F16/BF16 (or any type) -> Q4_K_M, Q4_0, Q8_0, ... through libllama's quantizer.
import { addon } from '../native/binding.js';

export const QUANT_TYPES = ['f32', 'f16', 'bf16', 'q8_0', 'q4_0', 'q4_1', 'q4_k_s', 'q4_k_m', 'q5_k_m', 'q6_k'] as const;

export function quantize(input: string, out: string, type: string): Promise<void> {
  return addon().quantize(input, out, type);
}
