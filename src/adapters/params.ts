// The one adapter-parameter type. Every trainable tensor of one adapted layer, by METHOD.md's
// names, in the array type of the side that holds it (float64 in the reference, float32 on the
// host side of the GPU path and in exports). The GPU keeps W_r and A stacked as one [W_r; A]
// matrix (one matmul yields the router logits and the expert projections) and the two gates as
// one pair: `stackParams` / `unstackParams` convert between the two layouts.
import { adapterDims, type AdapterSpec } from './spec.ts';

export type ParamArray = Float64Array | Float32Array;

export interface AdapterParams<T extends ParamArray = Float64Array> {
  /** Expert down-projections (rA, n). */
  A: T;
  /** Expert up-projections (m, rB). */
  B: T;
  /** Router (E, n), null for LoRA. */
  Wr: T | null;
  /** The intuition gate w_omega (1), gated methods only. */
  wOmega: T | null;
  /** The main gate w_beta (1), gated methods only. */
  wBeta: T | null;
  /** The intuition mapper (E, k), `.rank1_flex_mapper.weight`: gated methods with k ≠ E; else null. */
  M: T | null;
}

/** The trainable tensors of AdapterParams, in the order the optimiser and the global norm walk them. */
export const PARAM_FIELDS = ['A', 'B', 'Wr', 'wOmega', 'wBeta', 'M'] as const;

/** The GPU's layout of one layer's parameters: [W_r; A] stacked, B, [w_omega, w_beta], M. */
export interface StackedParams {
  WrA: Float32Array;
  B: Float32Array;
  gates: Float32Array | null;
  M: Float32Array | null;
}

/** AdapterParams → the GPU layout (float32). */
export function stackParams(p: AdapterParams<ParamArray>): StackedParams {
  const wr = p.Wr?.length ?? 0;
  const WrA = new Float32Array(wr + p.A.length);
  if (p.Wr) WrA.set(p.Wr);
  WrA.set(p.A, wr);
  const gates = p.wOmega || p.wBeta ? Float32Array.from([p.wOmega?.[0] ?? 0, p.wBeta?.[0] ?? 0]) : null;
  return { WrA, B: Float32Array.from(p.B), gates, M: p.M ? Float32Array.from(p.M) : null };
}

/**
 * The GPU layout → AdapterParams (float32), split by the layer's spec. Checks every length and
 * names the tensor that is wrong.
 */
export function unstackParams(s: StackedParams, spec: AdapterSpec): AdapterParams<Float32Array> {
  const d = adapterDims(spec);
  const want = (name: string, got: number, n: number) => {
    if (got !== n) throw new RangeError(`adapter ${spec.method} (${spec.n} → ${spec.m}): ${name} holds ${got} values, ${n} expected`);
  };
  const wr = d.E * spec.n;
  want('[W_r; A]', s.WrA.length, wr + d.rA * spec.n);
  want('B', s.B.length, spec.m * d.rB);
  if (d.gated) want('gates', s.gates?.length ?? 0, 2);
  if (d.mapper) want('M', s.M?.length ?? 0, d.E * d.k);
  return {
    A: s.WrA.slice(wr),
    B: s.B.slice(),
    Wr: d.E > 0 ? s.WrA.slice(0, wr) : null,
    wOmega: d.gated ? s.gates!.slice(0, 1) : null,
    wBeta: d.gated ? s.gates!.slice(1, 2) : null,
    M: d.mapper ? s.M!.slice() : null,
  };
}
