// Shapes and option types of the kernels, shared by the WGSL launchers (src/ops/) and the float64
// references (src/reference/), so app code never imports a reference and the references stay
// independent checks of the same contracts.

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

/** Element (b, t, head, d) of a tensor lies at (b·T + t)·stride + offset + head·D + d. */
export interface RowLayout {
  stride: number;
  offset: number;
}

export interface AttentionShape {
  B: number;
  T: number;
  /** Query heads. */
  NH: number;
  /** Key/value heads; NH must be a multiple. Query head h reads kv head floor(h / (NH / NKV)). */
  NKV: number;
  D: number;
  q: RowLayout;
  k: RowLayout;
  v: RowLayout;
  /** Rows per batch entry in k and v (default T; a KV cache's capacity when decoding). */
  kvT?: number;
  /** Absolute position of query row 0: query i attends keys j ≤ pos0 + i (default 0). */
  pos0?: number;
  /** Default true. False: every query attends all kvT keys (bidirectional encoders); pos0 must be 0. */
  causal?: boolean;
}

export function checkAttentionShape(s: AttentionShape): void {
  if (s.NH % s.NKV) throw new RangeError(`attention: ${s.NH} query heads are not a multiple of ${s.NKV} key/value heads`);
  const kvT = s.kvT ?? s.T;
  if (s.causal === false) {
    if ((s.pos0 ?? 0) !== 0) throw new RangeError('attention: pos0 is a causal position offset; non-causal attention takes pos0 = 0');
    return;
  }
  if ((s.pos0 ?? 0) + s.T > kvT) throw new RangeError(`attention: positions up to ${(s.pos0 ?? 0) + s.T} do not fit ${kvT} key/value rows`);
}

export interface CopyRowsShape {
  B: number;
  /** Rows per batch entry in the source. */
  T: number;
  /** Columns copied per row. */
  width: number;
  inStride: number;
  inOffset: number;
  /** Rows per batch entry in the destination. */
  outRows: number;
  /** First destination row. */
  r0: number;
  outStride: number;
  outOffset: number;
}

export interface CrossEntropyShape {
  /** Tokens (rows of logits). */
  N: number;
  V: number;
  /** Unmasked tokens (targets ≥ 0); the loss is their mean. */
  count: number;
}

export interface EmbeddingShape {
  /** Sequences in the batch. */
  B: number;
  T: number;
  C: number;
  V: number;
  /** Position of token 0 (decoding after cached tokens); default 0. */
  pos0?: number;
}

export interface RopeShape {
  B: number;
  T: number;
  /** Heads in this tensor (query heads for q, key/value heads for k). */
  H: number;
  /** Head dimension (even). */
  D: number;
  theta: number;
  /** Position of the first token (non-zero when decoding with a KV cache). */
  pos0?: number;
}

export interface NormShape {
  /** Rows (B·T). */
  N: number;
  C: number;
  eps: number;
}

export interface ReduceOptions {
  /** Sum x² instead of x. */
  square?: boolean;
  /** Take the square root of the total (a norm). */
  sqrt?: boolean;
  /** Multiply the (rooted) total by this (1/count for a mean). */
  scale?: number;
}

export interface AdamWHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** 1-based step, for bias correction. */
  step: number;
  /** Per-tensor learning-rate multiplier. */
  lrMult?: number;
  /** Clip the global gradient norm to this (0 = no clipping); needs `norm`. */
  maxNorm?: number;
}

export interface PoolShape {
  B: number;
  T: number;
  C: number;
}
