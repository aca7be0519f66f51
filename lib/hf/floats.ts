// Float formats of checkpoints and GGUF files, converted element by element: bf16 and f16 to
// f32 exactly, f32 to f16 and bf16 rounded to nearest, ties to even (as PyTorch and ggml do).
import type { Dtype } from './safetensors.js';
import type { FloatType } from './gguf-write.js';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

function f16ToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** The f16 bits nearest to the f32 whose bits are `x` (ties to even; overflow to infinity). */
function f32BitsToF16(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rest > halfway || (rest === halfway && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && half & 1)) half++; // a carry into the exponent is right
  return sign | half;
}

/** The bf16 bits nearest to the f32 whose bits are `x` (ties to even; NaN stays NaN). */
const f32BitsToBf16 = (x: number) => ((x & 0x7fffffff) > 0x7f800000 ? (x >>> 16) | 0x40 : ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff);

/** The elements of `src` (stored as `from`) in `to`'s encoding. */
export function convertFloats(src: Uint8Array, from: Dtype, to: FloatType): Uint8Array {
  const same = (from === 'F32' && to === 'f32') || (from === 'F16' && to === 'f16') || (from === 'BF16' && to === 'bf16');
  if (same) return src;
  const n = src.length / (from === 'F32' ? 4 : 2);
  const view = new DataView(src.buffer, src.byteOffset, src.length);
  const out = new Uint8Array(n * (to === 'f32' ? 4 : 2));
  const ov = new DataView(out.buffer);
  for (let i = 0; i < n; i++) {
    // the element's f32 bits
    let bits: number;
    if (from === 'F32') bits = view.getUint32(4 * i, true);
    else if (from === 'BF16') bits = view.getUint16(2 * i, true) << 16;
    else {
      f32[0] = f16ToF32(view.getUint16(2 * i, true));
      bits = u32[0]!;
    }
    if (to === 'f32') ov.setUint32(4 * i, bits >>> 0, true);
    else ov.setUint16(2 * i, to === 'f16' ? f32BitsToF16(bits >>> 0) : f32BitsToBf16(bits >>> 0), true);
  }
  return out;
}
