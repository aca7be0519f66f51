// Where Hugging Face and GGUF lay the same weights out differently. Llama-family GGUF files
// (arch "llama") store the rows of q and k with each head's rotary pairs interleaved, where a
// Hugging Face checkpoint stores each head's two halves one after the other (rotate-half RoPE);
// qwen2 GGUF files keep Hugging Face's order. Dims: PyTorch lists a weight [out, in], ggml
// [in, out], over the same bytes.

/** The Hugging Face architectures converted, as GGUF architectures (Qwen2's q/k/v have biases). */
export const HF_ARCHITECTURES: Record<string, { arch: 'llama' | 'qwen2'; bias: boolean }> = {
  LlamaForCausalLM: { arch: 'llama', bias: false },
  MistralForCausalLM: { arch: 'llama', bias: false },
  Qwen2ForCausalLM: { arch: 'qwen2', bias: true },
};

/** GGUF architectures whose q/k rows are interleaved. */
export const INTERLEAVED_QK = new Set(['llama']);

/** The projections a LoRA adapter targets: GGUF tensor name, Hugging Face module path. */
export const PROJECTIONS: [string, string][] = [
  ['attn_q', 'self_attn.q_proj'], ['attn_k', 'self_attn.k_proj'], ['attn_v', 'self_attn.v_proj'], ['attn_output', 'self_attn.o_proj'],
  ['ffn_gate', 'mlp.gate_proj'], ['ffn_up', 'mlp.up_proj'], ['ffn_down', 'mlp.down_proj'],
];

/** Moves whole rows: per head, row (half j, pair i) to (pair i, half j), or back with `undo`. */
export function interleaveHeads(b: Uint8Array, heads: number, rowBytes: number, undo = false): Uint8Array {
  const out = new Uint8Array(b.length);
  const perHead = b.length / rowBytes / heads;
  const half = perHead / 2;
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < half; i++) {
      for (let j = 0; j < 2; j++) {
        const [hf, gguf] = [(h * perHead + j * half + i) * rowBytes, (h * perHead + 2 * i + j) * rowBytes];
        const [from, to] = undo ? [gguf, hf] : [hf, gguf];
        out.set(b.subarray(from, from + rowBytes), to);
      }
    }
  }
  return out;
}
