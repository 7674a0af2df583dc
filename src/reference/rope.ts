// Float64 reference for shaders/rope/*: rotary position embedding exactly as Hugging Face
// Llama / Qwen2 apply it (rotate_half over the two halves of each head):
//   inv_freq[i] = theta^(-2i/D), angle = (pos0 + t) · inv_freq[i], i < D/2
//   out[i]       = x[i] · cos − x[i + D/2] · sin
//   out[i + D/2] = x[i + D/2] · cos + x[i] · sin
// x and out are (B, T, H, D) contiguous. Same names and argument order as src/ops/rope.ts.
import type { RopeShape } from '../ops/shapes.ts';
export type { RopeShape };

type Arr = Float64Array | Float32Array;

function rotate(out: Arr, x: Arr, s: RopeShape, sign: 1 | -1): void {
  if (s.D % 2) throw new RangeError(`rope: head dimension ${s.D} must be even`);
  const half = s.D / 2;
  for (let b = 0; b < s.B; b++)
    for (let t = 0; t < s.T; t++)
      for (let h = 0; h < s.H; h++) {
        const o = ((b * s.T + t) * s.H + h) * s.D;
        for (let i = 0; i < half; i++) {
          const ang = ((s.pos0 ?? 0) + t) * Math.pow(s.theta, (-2 * i) / s.D);
          const c = Math.cos(ang);
          const sn = sign * Math.sin(ang);
          const x1 = x[o + i];
          const x2 = x[o + i + half];
          out[o + i] = x1 * c - x2 * sn;
          out[o + i + half] = x2 * c + x1 * sn;
        }
      }
}

export function ropeForward(out: Arr, x: Arr, s: RopeShape): void {
  rotate(out, x, s, 1);
}

/** dx = the inverse rotation of dout (assigned). */
export function ropeBackward(dx: Arr, dout: Arr, s: RopeShape): void {
  rotate(dx, dout, s, -1);
}
