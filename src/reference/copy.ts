// Float64 reference for shaders/copy/*: copyRows, the strided row/column copy behind KV caches
// and layout changes, and its backward. Same names and argument order as src/ops/copy.ts.
import type { CopyRowsShape } from '../ops/shapes.ts';
export type { CopyRowsShape };

type Arr = Float64Array | Float32Array;

export function copyRows(out: Arr, x: Arr, s: CopyRowsShape): void {
  if (s.r0 + s.T > s.outRows) throw new RangeError(`copyRows: rows ${s.r0}..${s.r0 + s.T} exceed the destination's ${s.outRows}`);
  for (let b = 0; b < s.B; b++)
    for (let t = 0; t < s.T; t++)
      for (let c = 0; c < s.width; c++) out[(b * s.outRows + s.r0 + t) * s.outStride + s.outOffset + c] = x[(b * s.T + t) * s.inStride + s.inOffset + c];
}

/** dx (the source's layout) = the gradient gathered back from the destination rows (assigned). */
export function copyRowsBackward(dx: Arr, dout: Arr, s: CopyRowsShape): void {
  for (let b = 0; b < s.B; b++)
    for (let t = 0; t < s.T; t++)
      for (let c = 0; c < s.width; c++) dx[(b * s.T + t) * s.inStride + s.inOffset + c] = dout[(b * s.outRows + s.r0 + t) * s.outStride + s.outOffset + c];
}
