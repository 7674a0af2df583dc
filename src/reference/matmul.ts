// Float64 reference for shaders/matmul/*: matmulForward and its three backward products,
// written from the definitions (not from each other) so that the GPU launchers' transpose
// bookkeeping is checked independently. Same names and argument order as src/ops/matmul.ts.

export interface MatmulShape {
  /** Batch entries (default 1). */
  batch?: number;
  M: number;
  N: number;
  K: number;
  /** op(A) = Aᵀ with A stored (K, M). */
  transA?: boolean;
  /** op(B) = Bᵀ with B stored (N, K). */
  transB?: boolean;
  /** Elements between batch entries; default contiguous; 0 shares one matrix across the batch. */
  strideA?: number;
  strideB?: number;
  strideC?: number;
}

export interface ResolvedMatmulShape {
  batch: number;
  M: number;
  N: number;
  K: number;
  transA: boolean;
  transB: boolean;
  strideA: number;
  strideB: number;
  strideC: number;
}

export function resolveMatmulShape(s: MatmulShape): ResolvedMatmulShape {
  const batch = s.batch ?? 1;
  for (const [k, v] of Object.entries({ batch, M: s.M, N: s.N, K: s.K })) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`matmul: ${k} must be a positive integer, got ${v}`);
  }
  return {
    batch,
    M: s.M,
    N: s.N,
    K: s.K,
    transA: s.transA ?? false,
    transB: s.transB ?? false,
    strideA: s.strideA ?? s.M * s.K,
    strideB: s.strideB ?? s.K * s.N,
    strideC: s.strideC ?? s.M * s.N,
  };
}

/** Element counts the buffers must hold. */
export function matmulSizes(s: ResolvedMatmulShape): { A: number; B: number; C: number } {
  const span = (stride: number, one: number) => (s.batch - 1) * stride + one;
  return { A: span(s.strideA, s.M * s.K), B: span(s.strideB, s.K * s.N), C: span(s.strideC, s.M * s.N) };
}

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
