// A GGUF v3 file written front to back: metadata, tensor infos, then each tensor's bytes as a
// caller streams them in (a model need not fit in memory). Layout: "GGUF", version, tensor and
// key counts, the keys, the tensor infos (name, dims innermost first, ggml type, offset), padding
// to the alignment, the data with each tensor aligned.
import fs from 'node:fs';

export const GGML_TYPE = { f32: 0, f16: 1, bf16: 30 } as const;
export type FloatType = keyof typeof GGML_TYPE;
export const TYPE_BYTES: Record<FloatType, number> = { f32: 4, f16: 2, bf16: 2 };

/** A metadata value, tagged with its GGUF type. */
export type GgufValue =
  | { u32: number }
  | { i32: number }
  | { f32: number }
  | { bool: boolean }
  | { str: string }
  | { strs: string[] }
  | { f32s: ArrayLike<number> }
  | { i32s: ArrayLike<number> };

export interface TensorInfo {
  name: string;
  dims: number[]; // ggml order: the innermost (row length) first
  type: FloatType;
}

const ALIGN = 32;
const align = (n: number) => Math.ceil(n / ALIGN) * ALIGN;
const KIND = { u32: 4, i32: 5, f32: 6, bool: 7, str: 8, array: 9 } as const;

class Bytes {
  private parts: Buffer[] = [];
  size = 0;
  push(b: Buffer) {
    this.parts.push(b);
    this.size += b.length;
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
  str(s: string) {
    const b = Buffer.from(s, 'utf8');
    this.u64(b.length);
    this.push(b);
  }
  typed(kind: 'i32' | 'f32', vs: ArrayLike<number>) {
    const b = Buffer.alloc(4 * vs.length);
    for (let i = 0; i < vs.length; i++) kind === 'i32' ? b.writeInt32LE(vs[i]!, 4 * i) : b.writeFloatLE(vs[i]!, 4 * i);
    this.push(b);
  }
  value(v: GgufValue) {
    if ('u32' in v) (this.u32(KIND.u32), this.u32(v.u32));
    else if ('i32' in v) (this.u32(KIND.i32), this.typed('i32', [v.i32]));
    else if ('f32' in v) (this.u32(KIND.f32), this.typed('f32', [v.f32]));
    else if ('bool' in v) (this.u32(KIND.bool), this.push(Buffer.from([v.bool ? 1 : 0])));
    else if ('str' in v) (this.u32(KIND.str), this.str(v.str));
    else if ('strs' in v) {
      this.u32(KIND.array), this.u32(KIND.str), this.u64(v.strs.length);
      for (const s of v.strs) this.str(s);
    } else {
      const [kind, vs] = 'f32s' in v ? (['f32', v.f32s] as const) : (['i32', v.i32s] as const);
      this.u32(KIND.array), this.u32(KIND[kind]), this.u64(vs.length), this.typed(kind, vs);
    }
  }
  concat() {
    return Buffer.concat(this.parts);
  }
}

export const tensorBytes = (t: TensorInfo) => t.dims.reduce((a, b) => a * b, 1) * TYPE_BYTES[t.type];

/**
 * Writes `file` (the caller makes it atomic): the header, then `data(t, write)` for each tensor
 * in order, which must write exactly tensorBytes(t) bytes through `write`.
 */
export async function writeGguf(
  file: string,
  meta: [string, GgufValue][],
  tensors: TensorInfo[],
  data: (t: TensorInfo, write: (b: Uint8Array) => void) => Promise<void>,
): Promise<void> {
  const h = new Bytes();
  h.push(Buffer.from('GGUF'));
  h.u32(3);
  h.u64(tensors.length);
  h.u64(meta.length);
  for (const [k, v] of meta) (h.str(k), h.value(v));
  let offset = 0;
  for (const t of tensors) {
    h.str(t.name);
    h.u32(t.dims.length);
    for (const d of t.dims) h.u64(d);
    h.u32(GGML_TYPE[t.type]);
    h.u64(offset);
    offset = align(offset + tensorBytes(t));
  }
  const fd = fs.openSync(file, 'w');
  try {
    let pos = 0;
    const put = (b: Uint8Array) => {
      fs.writeSync(fd, b);
      pos += b.length;
    };
    const pad = () => put(Buffer.alloc(align(pos) - pos));
    put(h.concat());
    pad();
    for (const t of tensors) {
      const before = pos;
      await data(t, put);
      if (pos - before !== tensorBytes(t)) throw new Error(`tensor ${t.name}: ${pos - before} bytes written, ${tensorBytes(t)} expected`);
      if (t !== tensors.at(-1)) pad();
    }
  } finally {
    fs.closeSync(fd);
  }
}
