// Element types of stored weights and their conversion to f32 (the GPU's storage type here).

export type DType = 'F32' | 'F16' | 'BF16';
export const DTYPE_BYTES: Record<DType, number> = { F32: 4, F16: 2, BF16: 2 };

/** IEEE half → float. */
export function f16ToF32(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

const F16_TABLE = (() => {
  const t = new Float32Array(65536);
  for (let i = 0; i < 65536; i++) t[i] = f16ToF32(i);
  return t;
})();

/** Decodes little-endian bytes of `dtype` into a new Float32Array. */
export function toFloat32(bytes: Uint8Array, dtype: DType): Float32Array {
  const n = bytes.byteLength / DTYPE_BYTES[dtype];
  if (dtype === 'F32') {
    const out = new Float32Array(n);
    new Uint8Array(out.buffer).set(bytes);
    return out;
  }
  const out = new Float32Array(n);
  if (dtype === 'F16') {
    const u16 = new Uint16Array(n);
    new Uint8Array(u16.buffer).set(bytes);
    for (let i = 0; i < n; i++) out[i] = F16_TABLE[u16[i]];
    return out;
  }
  // BF16 is the top half of an f32: read the pairs as u32 words (little-endian: the low half
  // is the first value) and shift, two values per load.
  const pairs = new Uint32Array(Math.ceil(n / 2));
  new Uint8Array(pairs.buffer).set(bytes);
  const u32 = new Uint32Array(out.buffer);
  const full = n >> 1;
  for (let i = 0; i < full; i++) {
    const w = pairs[i];
    u32[2 * i] = w << 16;
    u32[2 * i + 1] = w & 0xffff0000;
  }
  if (n & 1) u32[n - 1] = pairs[full] << 16;
  return out;
}

/** float → IEEE half bits, round to nearest even (for writing F16 tensors). */
export function f32ToF16(v: number): number {
  const f = new Float32Array([v]);
  const x = new Uint32Array(f.buffer)[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
  return sign | h;
}

/** float → bfloat16 bits, round to nearest even. */
export function f32ToBf16(v: number): number {
  const f = new Float32Array([v]);
  const x = new Uint32Array(f.buffer)[0];
  if ((x & 0x7f800000) === 0x7f800000 && x & 0x7fffff) return (x >>> 16) | 0x40;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}

/** Encodes f32 values as little-endian bytes of `dtype` (F16 / BF16 rounded to nearest even): the inverse of toFloat32. */
export function fromFloat32(values: Float32Array, dtype: DType): Uint8Array {
  if (dtype === 'F32') return new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
  const conv = dtype === 'F16' ? f32ToF16 : f32ToBf16;
  const u16 = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) u16[i] = conv(values[i]);
  return new Uint8Array(u16.buffer);
}
