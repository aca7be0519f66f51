// A GGUF file's metadata and tensor directory, read in JavaScript (the adapters tang-lora
// exports and imports are small); tensor bytes are read one tensor at a time.
import fs from 'node:fs';
import { convertFloats } from './floats.js';

export type GgufScalar = number | bigint | boolean | string;
export type GgufRead = GgufScalar | GgufScalar[];

export interface GgufTensorEntry {
  name: string;
  dims: number[]; // innermost first
  type: number; // ggml type: 0 f32, 1 f16
  offset: number; // of the first byte in the file
}

export interface GgufFile {
  file: string;
  meta: Map<string, GgufRead>;
  tensors: GgufTensorEntry[];
}

const SCALAR_BYTES: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };

/** Reads the header of `file`; one line naming the file where it is not a GGUF file this reader takes. */
export function readGguf(file: string): GgufFile {
  const fd = fs.openSync(file, 'r');
  try {
    return readHeader(file, fd, fs.fstatSync(fd).size);
  } finally {
    fs.closeSync(fd);
  }
}

function readHeader(file: string, fd: number, size: number): GgufFile {
  // the header alone is read, in growing pieces (a model's data is not)
  let b = Buffer.alloc(0);
  let p = 0;
  const need = (n: number) => {
    if (p + n <= b.length) return;
    if (p + n > size) throw new Error(`'${file}' ends inside its GGUF header`);
    const more = Buffer.alloc(Math.min(size, Math.max(2 * b.length, p + n, 1 << 20)));
    fs.readSync(fd, more, 0, more.length, 0);
    b = more;
  };
  const u32 = () => (need(4), (p += 4), b.readUInt32LE(p - 4));
  const u64 = () => (need(8), (p += 8), Number(b.readBigUInt64LE(p - 8)));
  const str = () => {
    const n = u64();
    need(n);
    p += n;
    return b.toString('utf8', p - n, p);
  };
  const scalar = (t: number): GgufScalar => {
    if (t === 8) return str();
    const n = SCALAR_BYTES[t];
    if (n === undefined) throw new Error(`'${file}': unknown GGUF value type ${t}`);
    need(n);
    const at = p;
    p += n;
    switch (t) {
      case 0: return b.readUInt8(at);
      case 1: return b.readInt8(at);
      case 2: return b.readUInt16LE(at);
      case 3: return b.readInt16LE(at);
      case 4: return b.readUInt32LE(at);
      case 5: return b.readInt32LE(at);
      case 6: return b.readFloatLE(at);
      case 7: return b.readUInt8(at) !== 0;
      case 10: return b.readBigUInt64LE(at);
      case 11: return b.readBigInt64LE(at);
      default: return b.readDoubleLE(at);
    }
  };
  need(8);
  if (b.toString('latin1', 0, 4) !== 'GGUF') throw new Error(`'${file}' is not a GGUF file`);
  p = 4;
  const version = u32();
  if (version !== 3) throw new Error(`'${file}' is GGUF version ${version}; version 3 is read`);
  // no count can exceed the bytes left (every entry takes at least one)
  const count = (n: number, what: string) => {
    if (n > size - p) throw new Error(`'${file}' has a damaged GGUF header (${n} ${what})`);
    return n;
  };
  const [nTensors, nKv] = [count(u64(), 'tensors'), count(u64(), 'keys')];
  const meta = new Map<string, GgufRead>();
  for (let i = 0; i < nKv; i++) {
    const key = str();
    const t = u32();
    if (t === 9) {
      const [et, n] = [u32(), count(u64(), `values of ${key}`)];
      meta.set(key, Array.from({ length: n }, () => scalar(et)));
    } else meta.set(key, scalar(t));
  }
  const entries = Array.from({ length: nTensors }, () => {
    const name = str();
    const nDims = u32();
    if (nDims > 4) throw new Error(`'${file}': tensor ${name} has ${nDims} dimensions`);
    const dims = Array.from({ length: nDims }, () => u64());
    return { name, dims, type: u32(), offset: u64() };
  });
  const align = Number(meta.get('general.alignment') ?? 32);
  if (!Number.isInteger(align) || align <= 0) throw new Error(`'${file}': general.alignment ${meta.get('general.alignment')} is not a positive integer`);
  const data = Math.ceil(p / align) * align;
  const tensors = entries.map((e) => ({ ...e, offset: data + e.offset }));
  for (const t of tensors) {
    if (t.type !== 0 && t.type !== 1) continue;
    if (t.offset + t.dims.reduce((a, d) => a * d, 1) * (t.type === 0 ? 4 : 2) > size) throw new Error(`'${file}' ends inside tensor ${t.name}`);
  }
  return { file, meta, tensors };
}

/** An f32 or f16 tensor's values as f32. */
export function readGgufFloats(g: GgufFile, t: GgufTensorEntry): Float32Array {
  const n = t.dims.reduce((a, d) => a * d, 1);
  if (t.type !== 0 && t.type !== 1) throw new Error(`'${g.file}': tensor ${t.name} is neither f32 nor f16`);
  const fd = fs.openSync(g.file, 'r');
  try {
    const raw = Buffer.alloc(n * (t.type === 0 ? 4 : 2));
    fs.readSync(fd, raw, 0, raw.length, t.offset);
    const f32 = t.type === 0 ? raw : convertFloats(raw, 'F16', 'f32');
    return new Float32Array(f32.buffer, f32.byteOffset, n).slice();
  } finally {
    fs.closeSync(fd);
  }
}
