// Float64 reference for shaders/pool/*: mask-weighted mean pooling of a padded batch's hidden
// states into one vector per sequence, then L2 normalisation (sentence-transformers' Pooling with
// pooling_mode_mean_tokens, then Normalize). Same names and argument order as src/ops/pool.ts.
import type { PoolShape } from '../ops/shapes.ts';
export type { PoolShape };

type Arr = Float64Array | Float32Array;

/**
 * out[b,:] = Σ_t mask[b,t]·x[b,t,:] / max(Σ_t mask[b,t], 1e-9); with normalize (default), then
 * divided by max(‖out[b,:]‖₂, 1e-12). mask (B, T): non-zero = a real token.
 */
export function meanPoolForward(out: Arr, x: Arr, mask: ArrayLike<number>, s: PoolShape, normalize = true): void {
  for (let b = 0; b < s.B; b++) {
    let count = 0;
    for (let t = 0; t < s.T; t++) if (mask[b * s.T + t] !== 0) count++;
    const inv = 1 / Math.max(count, 1e-9);
    let sq = 0;
    for (let c = 0; c < s.C; c++) {
      let sum = 0;
      for (let t = 0; t < s.T; t++) if (mask[b * s.T + t] !== 0) sum += x[(b * s.T + t) * s.C + c];
      out[b * s.C + c] = sum * inv;
      sq += (sum * inv) ** 2;
    }
    if (!normalize) continue;
    const scale = 1 / Math.max(Math.sqrt(sq), 1e-12);
    for (let c = 0; c < s.C; c++) out[b * s.C + c] *= scale;
  }
}
