// Float64 reference for shaders/embedding/*: token (+ learned position) embedding lookup and
// its scatter-add backward. Same names and argument order as src/ops/embedding.ts.
import type { EmbeddingShape } from '../ops/shapes.ts';
export type { EmbeddingShape };

type Arr = Float64Array | Float32Array;

/** out[b,t,:] = wte[ids[b,t],:] (+ wpe[pos0 + t,:]). Ids out of range throw, naming the position. */
export function embeddingForward(out: Arr, ids: ArrayLike<number>, wte: Arr, wpe: Arr | null, s: EmbeddingShape): void {
  for (let b = 0; b < s.B; b++)
    for (let t = 0; t < s.T; t++) {
      const id = ids[b * s.T + t];
      if (!(id >= 0 && id < s.V)) throw new RangeError(`embedding: token id ${id} at batch ${b}, position ${t} is outside the vocabulary [0, ${s.V})`);
      for (let c = 0; c < s.C; c++) out[(b * s.T + t) * s.C + c] = wte[id * s.C + c] + (wpe ? wpe[((s.pos0 ?? 0) + t) * s.C + c] : 0);
    }
}

/** dwte[v,:] += Σ_{ids=v} dout; dwpe[t,:] += Σ_b dout[b,t,:] (when dwpe is given). */
export function embeddingBackward(dwte: Arr, dwpe: Arr | null, dout: Arr, ids: ArrayLike<number>, s: EmbeddingShape): void {
  for (let b = 0; b < s.B; b++)
    for (let t = 0; t < s.T; t++) {
      const id = ids[b * s.T + t];
      for (let c = 0; c < s.C; c++) {
        const g = dout[(b * s.T + t) * s.C + c];
        dwte[id * s.C + c] += g;
        if (dwpe) dwpe[t * s.C + c] += g;
      }
    }
}
