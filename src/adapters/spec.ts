// What an adapter is, independent of how it runs: the methods of ../shared/METHOD.md, their sizes
// (adapterDims), parameter counts, constants and seeded initialisation. Shared by the GPU path
// (src/ops/adapter.ts, the trainer, export) and the float64 reference (src/reference/adapter.ts).

export type AdapterMethod = 'trex' | 'mor1e' | 'lora' | 'molora' | 'sira';

export interface AdapterSpec {
  method: AdapterMethod;
  /** Tokens. */
  T: number;
  /** Input width (W0 is m x n). */
  n: number;
  m: number;
  /** trex: A rows and B columns (E = r1 · r2). */
  r1?: number;
  r2?: number;
  /** mor1e: experts (r1 = r2 = E). */
  E?: number;
  /** lora, molora, sira: rank. */
  r?: number;
  /** lora: scaling alpha / r. */
  alpha?: number;
  /** trex / mor1e: keep the k largest routing scores (null or absent = dense). */
  topk?: number | null;
  /**
   * trex / mor1e: the intuition's cluster count (the width of s). Absent or equal to E: s has E
   * values and routing reads it as is. Otherwise the layer owns a learned mapper M (E x k, the
   * export format's `.rank1_flex_mapper.weight`) and routing reads s_E = M s_k in place of s
   * (in u, g and the w_omega gradient). Methods without intuition (lora, molora, sira) ignore it.
   */
  k?: number | null;
  lambdaH?: number;
  lambdaLB?: number;
  /** Ablations: false drops the router term (intuition only) or the intuition term (router only). */
  useRouter?: boolean;
  useIntuition?: boolean;
}

export const TOKEN_COEF = 32;

export const TASK_COEF = 4;

export const GATE_SLOPE = 100;

export const MOLORA_EXPERTS = 8;

export const SIRA_KEEP = 6;

export interface AdapterDims {
  /** Rows of A. */
  rA: number;
  /** Columns of B. */
  rB: number;
  /** Router outputs (experts E; 8 for molora / sira; 0 for lora). */
  E: number;
  gated: boolean;
  /** Width of the intuition scores s: the cluster count k with a mapper, else E (0 without intuition). */
  k: number;
  /** A learned mapper M (E x k) turns s_k into s_E (gated methods with k ≠ E). */
  mapper: boolean;
}

export function adapterDims(s: AdapterSpec): AdapterDims {
  const need = (v: number | undefined, name: string) => {
    if (!Number.isInteger(v) || (v as number) < 1) throw new RangeError(`adapter ${s.method}: ${name} must be a positive integer, got ${v}`);
    return v as number;
  };
  const gatedDims = (rA: number, rB: number, E: number): AdapterDims => {
    const k = s.k == null ? E : need(s.k, 'k (the intuition cluster count)');
    return { rA, rB, E, gated: true, k, mapper: k !== E };
  };
  switch (s.method) {
    case 'trex': {
      const r1 = need(s.r1, 'r1'), r2 = need(s.r2, 'r2');
      return gatedDims(r1, r2, r1 * r2);
    }
    case 'mor1e': {
      const E = need(s.E, 'E');
      return gatedDims(E, E, E);
    }
    case 'lora': {
      const r = need(s.r, 'r');
      return { rA: r, rB: r, E: 0, gated: false, k: 0, mapper: false };
    }
    case 'molora':
    case 'sira': {
      const r = need(s.r, 'r');
      if (r % MOLORA_EXPERTS) throw new RangeError(`adapter ${s.method}: rank ${r} must be a multiple of ${MOLORA_EXPERTS} (8 experts of rank r/8)`);
      return { rA: r, rB: r, E: MOLORA_EXPERTS, gated: false, k: 0, mapper: false };
    }
  }
}

/** Trainable parameters of one adapted Linear(n → m), as METHOD.md counts them (plus E·k for a mapper). */
export function adapterParamCount(s: AdapterSpec): number {
  const d = adapterDims(s);
  return d.rA * s.n + s.m * d.rB + d.E * s.n + (d.gated ? 2 : 0) + (d.mapper ? d.E * d.k : 0);
}

/**
 * Initial trainable tensors as METHOD.md fixes them: A ~ U(−1/√n, 1/√n), B = 0, W_r = 0,
 * gates 0, and a mapper (k ≠ E) like torch's nn.Linear(k, E, bias=False): M ~ U(−1/√k, 1/√k).
 * Draw order from `rand`: A (row-major, r1 x n), then M (row-major, E x k); nothing else draws.
 */
export function adapterInit(spec: AdapterSpec, rand: () => number): { A: Float64Array; B: Float64Array; Wr: Float64Array | null; wOmega: Float64Array | null; wBeta: Float64Array | null; M: Float64Array | null } {
  const d = adapterDims(spec);
  const uniform = (len: number, bound: number) => {
    const a = new Float64Array(len);
    for (let i = 0; i < len; i++) a[i] = (rand() * 2 - 1) * bound;
    return a;
  };
  const A = uniform(d.rA * spec.n, 1 / Math.sqrt(spec.n));
  return {
    A,
    B: new Float64Array(spec.m * d.rB),
    Wr: d.E > 0 ? new Float64Array(d.E * spec.n) : null,
    wOmega: d.gated ? new Float64Array(1) : null,
    wBeta: d.gated ? new Float64Array(1) : null,
    M: d.mapper ? uniform(d.E * d.k, 1 / Math.sqrt(d.k)) : null,
  };
}
