// An independent reader of TensorBoard event files for the tests: TFRecord framing checked
// with a bit-by-bit CRC-32C, and just enough protobuf decoding for Event / Summary scalars.
import fs from 'node:fs';

function crc32cBitwise(buf: Uint8Array): number {
  let c = ~0 >>> 0;
  for (const b of buf) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0x82f63b78 & -(c & 1));
  }
  return ~c >>> 0;
}

function masked(buf: Uint8Array): number {
  const c = crc32cBitwise(buf);
  return (((c >>> 15) | (c << 17)) + 0xa282ead8) >>> 0;
}

type Fields = Map<number, Array<number | bigint | Buffer>>;

function decode(buf: Buffer): Fields {
  const out: Fields = new Map();
  let i = 0;
  const varint = (): bigint => {
    let v = 0n;
    let shift = 0n;
    for (;;) {
      const b = buf[i++]!;
      v |= BigInt(b & 0x7f) << shift;
      shift += 7n;
      if (!(b & 0x80)) return v;
    }
  };
  while (i < buf.length) {
    const k = Number(varint());
    const field = k >> 3;
    const wire = k & 7;
    let v: number | bigint | Buffer;
    if (wire === 0) v = varint();
    else if (wire === 1) (v = buf.readDoubleLE(i)), (i += 8);
    else if (wire === 5) (v = buf.readFloatLE(i)), (i += 4);
    else if (wire === 2) {
      const n = Number(varint());
      v = buf.subarray(i, i + n);
      i += n;
    } else throw new Error(`unsupported wire type ${wire}`);
    out.set(field, [...(out.get(field) ?? []), v]);
  }
  return out;
}

export interface ScalarEvent {
  step: number;
  wallTime: number;
  fileVersion?: string;
  scalars: Record<string, number>;
}

/** Reads every record, throwing on a bad length or data CRC. */
export function readEvents(file: string): ScalarEvent[] {
  const buf = fs.readFileSync(file);
  const events: ScalarEvent[] = [];
  for (let i = 0; i < buf.length; ) {
    const lenBytes = buf.subarray(i, i + 8);
    if (buf.readUInt32LE(i + 8) !== masked(lenBytes)) throw new Error(`bad length CRC at byte ${i}`);
    const n = Number(buf.readBigUInt64LE(i));
    const data = buf.subarray(i + 12, i + 12 + n);
    if (buf.readUInt32LE(i + 12 + n) !== masked(data)) throw new Error(`bad data CRC at byte ${i}`);
    i += 16 + n;
    const ev = decode(data);
    const scalars: Record<string, number> = {};
    for (const summary of (ev.get(5) ?? []) as Buffer[]) {
      for (const value of (decode(summary).get(1) ?? []) as Buffer[]) {
        const v = decode(value);
        scalars[((v.get(1) ?? [])[0] as Buffer).toString()] = (v.get(2) ?? [NaN])[0] as number;
      }
    }
    events.push({
      step: Number((ev.get(2) ?? [0n])[0]),
      wallTime: (ev.get(1) ?? [0])[0] as number,
      fileVersion: ev.has(3) ? ((ev.get(3)![0] as Buffer).toString()) : undefined,
      scalars,
    });
  }
  return events;
}
