// Helpers for GPU parity specs: f32-rounded random inputs (so the float64 reference sees
// exactly what the GPU sees) and the input wrapper the harness takes.
import { randn, rng } from '../src/reference/gradcheck.ts';
import type { KernelInput } from './harness/api.ts';

export { maxRelError, rng } from '../src/reference/gradcheck.ts';

/** Uniform random values in [-scale, scale), rounded to f32, as float64. */
export function rand32(n: number, r: () => number, scale = 1): Float64Array {
  return Float64Array.from(Float32Array.from(randn(n, r, scale)));
}

export const f32 = (a: ArrayLike<number>): KernelInput => ({ data: Array.from(a) });
export const u32 = (a: ArrayLike<number>): KernelInput => ({ data: Array.from(a), type: 'u32' });
export const i32 = (a: ArrayLike<number>): KernelInput => ({ data: Array.from(a), type: 'i32' });
export const seeded = (name: string) => rng([...name].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7));
