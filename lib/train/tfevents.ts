// TensorBoard event files: TFRecord framing (length, masked CRC-32C of the length, data,
// masked CRC-32C of the data) around tensorflow.Event protobufs carrying scalar summaries.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32c(buf: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export function maskedCrc32c(buf: Uint8Array): number {
  const c = crc32c(buf);
  return ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

// protobuf wire encoding, just what Event and Summary need
function varint(n: number | bigint): number[] {
  let v = BigInt(n);
  const out: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v) b |= 0x80;
    out.push(b);
  } while (v);
  return out;
}
const key = (field: number, wire: number) => varint((field << 3) | wire);
function bytesField(field: number, data: Uint8Array): number[] {
  return [...key(field, 2), ...varint(data.length), ...data];
}
function fixed(field: number, value: number, wire: 1 | 5): number[] {
  const b = Buffer.alloc(wire === 1 ? 8 : 4);
  if (wire === 1) b.writeDoubleLE(value);
  else b.writeFloatLE(value);
  return [...key(field, wire), ...b];
}

function event(step: number, body: number[]): Uint8Array {
  // Event: 1 wall_time (double), 2 step (int64), 3 file_version (string), 5 summary
  return Uint8Array.from([...fixed(1, Date.now() / 1000, 1), ...key(2, 0), ...varint(step), ...body]);
}

function record(data: Uint8Array): Buffer {
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(data.length));
  const crc = (b: Uint8Array) => {
    const out = Buffer.alloc(4);
    out.writeUInt32LE(maskedCrc32c(b));
    return out;
  };
  return Buffer.concat([len, crc(len), data, crc(data)]);
}

export class EventWriter {
  readonly file: string;

  constructor(dir: string) {
    this.file = path.join(dir, `events.out.tfevents.${Math.floor(Date.now() / 1000)}.${os.hostname()}`);
    fs.writeFileSync(this.file, record(event(0, bytesField(3, Buffer.from('brain.Event:2')))));
  }

  /** One event at `step` with a scalar per entry (Summary.Value: 1 tag, 2 simple_value). */
  scalars(step: number, values: Record<string, number>): void {
    const summary: number[] = [];
    for (const [tag, v] of Object.entries(values)) {
      if (Number.isFinite(v)) summary.push(...bytesField(1, Uint8Array.from([...bytesField(1, Buffer.from(tag)), ...fixed(2, v, 5)])));
    }
    fs.appendFileSync(this.file, record(event(step, bytesField(5, Uint8Array.from(summary)))));
  }
}
