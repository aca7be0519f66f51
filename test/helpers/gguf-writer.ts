// A minimal GGUF v3 writer, written from the format description and independent of ggml,
// so the tests can make files to check the native reader against.
import fs from 'node:fs';

export type KvValue =
  | { type: 'u32'; value: number }
  | { type: 'f32'; value: number }
  | { type: 'str'; value: string }
  | { type: 'str[]'; value: string[] };

export interface TensorSpec {
  name: string;
  type: 'f32' | 'f16' | 'q8_0';
  ne: number[]; // innermost first, as ggml counts dimensions
  data?: Buffer; // random bytes of the right size when omitted
}

// ggml type ids and storage: [id, elements per block, bytes per block]
const TYPES = { f32: [0, 1, 4], f16: [1, 1, 2], q8_0: [8, 32, 34] } as const;
const GGUF_U32 = 4;
const GGUF_F32 = 6;
const GGUF_STR = 8;
const GGUF_ARR = 9;
const ALIGN = 32;

export function tensorBytes(t: TensorSpec): number {
  const [, block, size] = TYPES[t.type];
  const n = t.ne.reduce((a, b) => a * b, 1);
  return (n / block) * size;
}

class Writer {
  parts: Buffer[] = [];
  length = 0;
  push(b: Buffer) {
    this.parts.push(b);
    this.length += b.length;
  }
  u32(v: number) {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v);
    this.push(b);
  }
  u64(v: number) {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt(v));
    this.push(b);
  }
  f32(v: number) {
    const b = Buffer.alloc(4);
    b.writeFloatLE(v);
    this.push(b);
  }
  str(s: string) {
    const b = Buffer.from(s, 'utf8');
    this.u64(b.length);
    this.push(b);
  }
  pad() {
    const rem = this.length % ALIGN;
    if (rem) this.push(Buffer.alloc(ALIGN - rem));
  }
}

export function ggufBytes(kv: Record<string, KvValue>, tensors: TensorSpec[]): Buffer {
  const w = new Writer();
  w.push(Buffer.from('GGUF'));
  w.u32(3);
  w.u64(tensors.length);
  w.u64(Object.keys(kv).length);
  for (const [key, v] of Object.entries(kv)) {
    w.str(key);
    if (v.type === 'u32') (w.u32(GGUF_U32), w.u32(v.value));
    else if (v.type === 'f32') (w.u32(GGUF_F32), w.f32(v.value));
    else if (v.type === 'str') (w.u32(GGUF_STR), w.str(v.value));
    else {
      w.u32(GGUF_ARR);
      w.u32(GGUF_STR);
      w.u64(v.value.length);
      for (const s of v.value) w.str(s);
    }
  }
  let offset = 0;
  const offsets: number[] = [];
  for (const t of tensors) {
    w.str(t.name);
    w.u32(t.ne.length);
    for (const n of t.ne) w.u64(n);
    w.u32(TYPES[t.type][0]);
    w.u64(offset);
    offsets.push(offset);
    offset += Math.ceil(tensorBytes(t) / ALIGN) * ALIGN;
  }
  w.pad();
  for (const t of tensors) {
    const size = tensorBytes(t);
    const data = t.data ?? Buffer.from(Array.from({ length: size }, (_, i) => (i * 131 + 7) & 0xff));
    if (data.length !== size) throw new Error(`tensor ${t.name}: ${data.length} bytes given, ${size} expected`);
    w.push(data);
    w.pad();
  }
  return Buffer.concat(w.parts);
}

/** A tiny llama-shaped model header + random tensors: 2 layers, d=64, 4 heads (2 kv), vocab 32. */
export function writeTinyLlama(file: string): { nLayer: number; nEmbd: number; nFf: number; nVocab: number } {
  const nLayer = 2;
  const nEmbd = 64;
  const nFf = 128;
  const nVocab = 32;
  const kv: Record<string, KvValue> = {
    'general.architecture': { type: 'str', value: 'llama' },
    'general.type': { type: 'str', value: 'model' },
    'general.name': { type: 'str', value: 'tiny-test' },
    'llama.block_count': { type: 'u32', value: nLayer },
    'llama.embedding_length': { type: 'u32', value: nEmbd },
    'llama.feed_forward_length': { type: 'u32', value: nFf },
    'llama.attention.head_count': { type: 'u32', value: 4 },
    'llama.attention.head_count_kv': { type: 'u32', value: 2 },
    'llama.context_length': { type: 'u32', value: 256 },
    'llama.attention.layer_norm_rms_epsilon': { type: 'f32', value: 1e-5 },
    'tokenizer.ggml.tokens': { type: 'str[]', value: Array.from({ length: nVocab }, (_, i) => `t${i}`) },
  };
  const tensors: TensorSpec[] = [
    { name: 'token_embd.weight', type: 'f16', ne: [nEmbd, nVocab] },
    { name: 'output_norm.weight', type: 'f32', ne: [nEmbd] },
  ];
  for (let l = 0; l < nLayer; l++) {
    tensors.push({ name: `blk.${l}.attn_q.weight`, type: 'q8_0', ne: [nEmbd, nEmbd] });
    tensors.push({ name: `blk.${l}.ffn_up.weight`, type: 'q8_0', ne: [nEmbd, nFf] });
  }
  fs.writeFileSync(file, ggufBytes(kv, tensors));
  return { nLayer, nEmbd, nFf, nVocab };
}
