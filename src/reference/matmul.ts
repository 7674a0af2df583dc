// Float64 reference for shaders/matmul/*: matmulForward and its three backward products,
// written from the definitions (not from each other) so that the GPU launchers' transpose
// bookkeeping is checked independently. Same names and argument order as src/ops/matmul.ts.
import type { MatmulShape, ResolvedMatmulShape } from '../ops/shapes.ts';
export type { MatmulShape, ResolvedMatmulShape };
import { resolveMatmulShape, matmulSizes } from '../ops/shapes.ts';
export { resolveMatmulShape, matmulSizes };

type Arr = Float64Array | Float32Array;

const idxA = (s: ResolvedMatmulShape, b: number, m: number, k: number) => b * s.strideA + (s.transA ? k * s.M + m : m * s.K + k);
const idxB = (s: ResolvedMatmulShape, b: number, k: number, n: number) => b * s.strideB + (s.transB ? n * s.K + k : k * s.N + n);
const idxC = (s: ResolvedMatmulShape, b: number, m: number, n: number) => b * s.strideC + m * s.N + n;

/** C[b] (=|+=) op(A[b]) · op(B[b]) (+ bias). */
export function matmulForward(C: Arr, A: Arr, B: Arr, bias: Arr | null, shape: MatmulShape, accumulate = false): void {
  const s = resolveMatmulShape(shape);
  for (let b = 0; b < s.batch; b++)
    for (let m = 0; m < s.M; m++)
      for (let n = 0; n < s.N; n++) {
        let acc = bias ? bias[n] : 0;
        for (let k = 0; k < s.K; k++) acc += A[idxA(s, b, m, k)] * B[idxB(s, b, k, n)];
        const i = idxC(s, b, m, n);
        C[i] = accumulate ? C[i] + acc : acc;
      }
}

/** dA (=|+=) dC · op(B)ᵀ, laid out like A; a shared A (strideA 0) sums over the batch. */
export function matmulBackwardInput(dA: Arr, dC: Arr, B: Arr, shape: MatmulShape, accumulate = false): void {
  const s = resolveMatmulShape(shape);
  if (!accumulate) dA.fill(0, 0, matmulSizes(s).A);
  for (let b = 0; b < s.batch; b++)
    for (let m = 0; m < s.M; m++)
      for (let k = 0; k < s.K; k++) {
        let acc = 0;
        for (let n = 0; n < s.N; n++) acc += dC[idxC(s, b, m, n)] * B[idxB(s, b, k, n)];
        dA[idxA(s, b, m, k)] += acc;
      }
}

/** dB (+=|=) op(A)ᵀ · dC, laid out like B; a shared B (strideB 0) sums over the batch. */
export function matmulBackwardWeight(dB: Arr, A: Arr, dC: Arr, shape: MatmulShape, accumulate = true): void {
  const s = resolveMatmulShape(shape);
  if (!accumulate) dB.fill(0, 0, matmulSizes(s).B);
  for (let b = 0; b < s.batch; b++)
    for (let k = 0; k < s.K; k++)
      for (let n = 0; n < s.N; n++) {
        let acc = 0;
        for (let m = 0; m < s.M; m++) acc += A[idxA(s, b, m, k)] * dC[idxC(s, b, m, n)];
        dB[idxB(s, b, k, n)] += acc;
      }
}

/** dbias[n] += Σ_{b,m} dC[b][m][n]. */
export function matmulBackwardBias(dbias: Arr, dC: Arr, shape: MatmulShape): void {
  const s = resolveMatmulShape(shape);
  for (let b = 0; b < s.batch; b++)
    for (let m = 0; m < s.M; m++)
      for (let n = 0; n < s.N; n++) dbias[n] += dC[idxC(s, b, m, n)];
}
