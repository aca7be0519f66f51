// safetensors files: an 8-byte little-endian header length, a JSON header naming each tensor's
// dtype, shape and byte range in the data that follows, then the data. A model folder holds one
// file or shards listed by model.safetensors.index.json. Reading takes the headers only; tensor
// bytes are read one tensor at a time.
import fs from 'node:fs';
import path from 'node:path';
import { readJsonFile } from '../fs-errors.js';

export const DTYPE_BYTES = { F32: 4, F16: 2, BF16: 2 } as const;
export type Dtype = keyof typeof DTYPE_BYTES;

export interface StoredTensor {
  name: string;
  file: string;
  dtype: Dtype;
  shape: number[]; // outermost first, as PyTorch
  offset: number; // of the first byte in the file
  bytes: number;
}

/** The tensors of one safetensors file, checked against the file's size; one line naming the file on failure. */
export function readSafetensorsHeader(file: string): StoredTensor[] {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const len = Buffer.alloc(8);
    if (size < 8 || fs.readSync(fd, len, 0, 8, 0) !== 8) throw new Error(`'${file}' is too short for a safetensors file`);
    const n = Number(len.readBigUInt64LE());
    if (n < 2 || n > 100 * 2 ** 20 || 8 + n > size) throw new Error(`'${file}' is not a safetensors file (header length ${n} of a ${size}-byte file)`);
    const text = Buffer.alloc(n);
    fs.readSync(fd, text, 0, n, 8);
    let header: unknown;
    try {
      header = JSON.parse(text.toString('utf8'));
    } catch {
      throw new Error(`'${file}' has a damaged safetensors header (not JSON)`);
    }
    if (!header || typeof header !== 'object' || Array.isArray(header)) throw new Error(`'${file}' has a damaged safetensors header (not an object)`);
    const base = 8 + n;
    const isCount = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;
    const tensors = Object.entries(header as Record<string, any>)
      .filter(([name]) => name !== '__metadata__')
      .map(([name, t]): StoredTensor => {
        const where = `'${file}': tensor ${name}`;
        if (!t || typeof t !== 'object' || !Object.hasOwn(DTYPE_BYTES, t.dtype)) throw new Error(`${where} has dtype ${t?.dtype}; F32, F16 and BF16 are supported`);
        const [a, b] = Array.isArray(t.data_offsets) && t.data_offsets.length === 2 ? t.data_offsets : [];
        const count = Array.isArray(t.shape) && t.shape.every(isCount) ? (t.shape as number[]).reduce((x, y) => x * y, 1) : NaN;
        if (!isCount(a) || !isCount(b) || b - a !== count * DTYPE_BYTES[t.dtype as Dtype] || base + b > size) {
          throw new Error(`${where} has a shape or byte range that does not fit the file`);
        }
        return { name, file, dtype: t.dtype as Dtype, shape: t.shape, offset: base + a, bytes: b - a };
      });
    // the ranges may not overlap (each byte belongs to one tensor)
    const sorted = [...tensors].sort((x, y) => x.offset - y.offset);
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[i]!.offset < sorted[i - 1]!.offset + sorted[i - 1]!.bytes) throw new Error(`'${file}': tensors ${sorted[i - 1]!.name} and ${sorted[i]!.name} overlap`);
    }
    return tensors;
  } finally {
    fs.closeSync(fd);
  }
}

/** Every tensor of a model folder: model.safetensors, or the shards its index names (all present). */
export function readModelTensors(dir: string): Map<string, StoredTensor> {
  const index = path.join(dir, 'model.safetensors.index.json');
  let map: Record<string, unknown> | undefined;
  let files: string[];
  if (fs.existsSync(index)) {
    map = (readJsonFile(index) as { weight_map?: Record<string, unknown> } | null)?.weight_map;
    if (!map || typeof map !== 'object' || Object.values(map).some((f) => typeof f !== 'string')) throw new Error(`'${index}' has no weight_map of tensor names to shard files`);
    files = [...new Set(Object.values(map) as string[])];
    const missing = files.filter((f) => !fs.existsSync(path.join(dir, f)));
    if (missing.length) throw new Error(`'${dir}' lacks the shard${missing.length > 1 ? 's' : ''} ${missing.join(', ')} that its index names`);
  } else if (fs.existsSync(path.join(dir, 'model.safetensors'))) {
    files = ['model.safetensors'];
  } else {
    throw new Error(`'${dir}' holds no model.safetensors or model.safetensors.index.json (only safetensors checkpoints are converted)`);
  }
  const all = new Map<string, StoredTensor>();
  for (const f of files) {
    for (const t of readSafetensorsHeader(path.join(dir, f))) {
      if (all.has(t.name)) throw new Error(`'${dir}': tensor ${t.name} is in ${path.basename(all.get(t.name)!.file)} and in ${f}`);
      all.set(t.name, t);
    }
  }
  for (const [name, f] of Object.entries(map ?? {})) {
    if (all.get(name)?.file !== path.join(dir, f as string)) throw new Error(`'${index}' puts tensor ${name} in ${f}, which does not hold it`);
  }
  return all;
}

/** Reads one tensor's bytes. */
export function readTensorBytes(t: StoredTensor): Buffer {
  const fd = fs.openSync(t.file, 'r');
  try {
    const b = Buffer.alloc(t.bytes);
    if (fs.readSync(fd, b, 0, t.bytes, t.offset) !== t.bytes) throw new Error(`'${t.file}' ends inside tensor ${t.name}`);
    return b;
  } finally {
    fs.closeSync(fd);
  }
}

/** Writes a safetensors file of named tensors (shape outermost first). */
export function writeSafetensors(file: string, tensors: { name: string; dtype: Dtype; shape: number[]; data: Uint8Array }[]): void {
  const header: Record<string, unknown> = {};
  let at = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [at, at + t.data.length] };
    at += t.data.length;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8); // data 8-byte aligned, as the reference writer does
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  fs.writeFileSync(file, Buffer.concat([len, Buffer.from(json), ...tensors.map((t) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.length))]));
}
