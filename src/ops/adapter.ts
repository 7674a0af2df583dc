// Launchers for shaders/adapter/*: one adapted linear layer's forward and backward for every
// method of METHOD.md, batched over all tokens and experts. Same names as
// src/reference/adapter.ts. The router and the expert down-projections are one matmul against
// the stacked weight [W_r; A] (E + rA rows), so one matmul also gives dW_r and dA together.
//   forward:  y = x·W0ᵀ + bias;  proj = x·[W_r; A]ᵀ;  route (softmax, top-k, mix, hB);
//             stats;  delta = hB·Bᵀ;  y += beta · delta
//   backward: dδ = beta · dy (+ <dy, δ> partials);  dB += dδᵀ·hB;  dh = dδ·B;
//             route backward → dproj = [dz | da];  dz += the regularisers' gradient at real
//             tokens (gated, λ ≠ 0);  d[W_r; A] += dprojᵀ·x;
//             dx = dy·W0 + dproj·[W_r; A];  gate gradients from their partials
// With an intuition mapper (k clusters ≠ E, METHOD.md §2) the forward first maps the scores,
// s_E = s_k·Mᵀ (a matmul, saved), and routing reads s_E; the backward adds
// ds_E = 4 (1 − w) dg on the kept experts (adapter_mapper_backward) and dM += ds_Eᵀ·s_k.
// W0 and its bias are frozen: only dx flows through them. A padding mask (one u32 per token,
// 1 = real) restricts the router statistics and the regularisers (values and gradients) to the
// real tokens; the rest of the layer is per-token and does not read it.
import { gridElements, params, type Engine } from '../gpu/engine.ts';
import { matmulBackwardInput, matmulBackwardWeight, matmulForward } from './matmul.ts';
import { adapterDims, type AdapterSpec } from '../adapters/spec.ts';

const METHOD_ID = { trex: 0, mor1e: 1, molora: 2, sira: 3, lora: 4 } as const;

/** The layer's parameters and inputs on the GPU. */
export interface AdapterInputs {
  x: GPUBuffer; // (T, n)
  /** (m, n), frozen; (n, m) when w0InOut (GPT-2's Conv1D layout). */
  W0: GPUBuffer;
  w0InOut?: boolean;
  bias: GPUBuffer | null; // (m), frozen
  /** [W_r; A] stacked: (E + rA, n); just A for LoRA. */
  WrA: GPUBuffer;
  B: GPUBuffer; // (m, rB)
  /** (2): w_omega, w_beta (read by gated methods only). */
  gates: GPUBuffer;
  /** Intuition scores (gated methods): (T, E), or (T, k) with a mapper (spec.k ≠ E). */
  s: GPUBuffer | null;
  /** The mapper (E, k) when spec.k ≠ E: routing reads s_E = s·Mᵀ. */
  M?: GPUBuffer | null;
  /** (T) task label per token for per-task router statistics, or null. */
  task: GPUBuffer | null;
  /**
   * (T) u32 padding mask, 1 = real token, 0 = padding; absent or null = every token is real.
   * The router statistics (so the regulariser values) and the regulariser gradients average
   * over the real tokens only.
   */
  mask?: GPUBuffer | null;
}

/** What the forward keeps for the backward and the statistics. */
export interface AdapterSaved {
  proj: GPUBuffer; // (T, E + rA)
  route: GPUBuffer; // (T, 3E)
  hB: GPUBuffer; // (T, rB)
  top1: GPUBuffer; // (T) u32
  delta: GPUBuffer; // (T, m)
  /** groups · (3E + 2) + 1 floats, see adapter_route_stats.wgsl. */
  stats: GPUBuffer;
  /** (T, E) the mapped intuition scores s_E = s·Mᵀ (only with a mapper). */
  sE?: GPUBuffer;
}

export interface AdapterGrads {
  dx: GPUBuffer; // (T, n), assigned
  dWrA: GPUBuffer; // (E + rA, n), accumulated
  dB: GPUBuffer; // (m, rB), accumulated
  dgates: GPUBuffer; // (2), accumulated
  /** (E, k) the mapper's gradient, accumulated (required with a mapper). */
  dM?: GPUBuffer | null;
}

/** Floats per saved tensor; `sE` only with a mapper. */
export function adapterSavedSizes(spec: AdapterSpec, groups = 1): Record<Exclude<keyof AdapterSaved, 'sE'>, number> & { sE?: number } {
  const d = adapterDims(spec);
  return {
    proj: spec.T * (d.E + d.rA),
    route: Math.max(1, spec.T * 3 * d.E),
    hB: spec.T * d.rB,
    top1: spec.T,
    delta: spec.T * spec.m,
    stats: groups * (3 * d.E + 2) + 1,
    ...(d.mapper ? { sE: spec.T * d.E } : {}),
  };
}

/** The scores routing reads: s, or s_E = s·Mᵀ computed into saved.sE with a mapper. */
function mapScores(engine: Engine, saved: AdapterSaved, inp: AdapterInputs, spec: AdapterSpec): GPUBuffer | null {
  const d = adapterDims(spec);
  if (!d.mapper || !inp.s) return inp.s;
  if (!inp.M || !saved.sE) throw new Error(`adapter ${spec.method}: k = ${d.k} clusters ≠ E = ${d.E} needs the mapper M and a saved sE buffer`);
  matmulForward(engine, saved.sE, inp.s, inp.M, null, { M: spec.T, N: d.E, K: d.k, transB: true });
  return saved.sE;
}

/** dsE (T, E) = 4 (1 − w) dg on each token's kept experts, 0 elsewhere (trex / mor1e). */
export function adapterMapperBackward(engine: Engine, dsE: GPUBuffer, dh: GPUBuffer, proj: GPUBuffer, route: GPUBuffer, gates: GPUBuffer, spec: AdapterSpec): void {
  const d = adapterDims(spec);
  if (!d.gated) throw new RangeError(`adapterMapperBackward: ${spec.method} has no intuition scores`);
  engine.dispatch(engine.kernel('adapter/adapter_mapper_backward', { METHOD: METHOD_ID[spec.method] }), {
    bindings: [dsE, dh, proj, route, gates],
    params: params({ T: spec.T, E: d.E, rA: d.rA, rB: d.rB }),
    workgroups: gridElements(spec.T * d.E),
  });
}

function common(spec: AdapterSpec) {
  const d = adapterDims(spec);
  const k = spec.topk ?? d.E;
  if (d.gated && !(Number.isInteger(k) && k >= 1 && k <= d.E)) throw new RangeError(`adapter: topk ${spec.topk} must be in 1..${d.E}`);
  if (d.E > 256) throw new RangeError(`adapter: ${d.E} experts exceed the 256 the routing kernels hold`);
  const overrides = { METHOD: METHOD_ID[spec.method], USE_ROUTER: spec.useRouter ?? true, USE_INTUITION: spec.useIntuition ?? true };
  const scale = spec.method === 'lora' ? (spec.alpha ?? d.rA) / d.rA : 1;
  return { d, k, overrides, scale };
}

/** y (=|+=) W0 x + bias + beta · delta; `accumulate` adds into y (a residual stream). */
export function adapterForward(engine: Engine, y: GPUBuffer, saved: AdapterSaved, inp: AdapterInputs, spec: AdapterSpec, groups = 1, accumulate = false): void {
  const { d, k, overrides, scale } = common(spec);
  const { T, n, m } = spec;
  if (d.gated && !inp.s) throw new Error(`adapter ${spec.method}: the intuition scores s are required`);
  matmulForward(engine, y, inp.x, inp.W0, inp.bias, { M: T, N: m, K: n, transB: !inp.w0InOut }, accumulate);
  matmulForward(engine, saved.proj, inp.x, inp.WrA, null, { M: T, N: d.E + d.rA, K: n, transB: true });
  const s = mapScores(engine, saved, inp, spec);
  engine.dispatch(engine.kernel('adapter/adapter_route_forward', overrides), {
    bindings: [saved.route, saved.hB, saved.top1, saved.proj, s ?? engine.dummy, inp.gates],
    params: params({ T, E: d.E, rA: d.rA, rB: d.rB, topk: k, scale, pad0: 0, pad1: 0 }, ['scale']),
    workgroups: gridElements(T),
  });
  if (d.E > 0) {
    if (groups > 1 && !inp.task) throw new Error('adapter: per-task statistics need the task labels');
    engine.dispatch(engine.kernel('adapter/adapter_route_stats', { MASKED: !!inp.mask }), {
      bindings: [saved.stats, saved.route, saved.top1, inp.task ?? engine.dummy, inp.mask ?? engine.dummy],
      params: params({ T, E: d.E, groups, pad: 0 }),
      workgroups: [groups],
    });
  }
  matmulForward(engine, saved.delta, saved.hB, inp.B, null, { M: T, N: m, K: d.rB, transB: true });
  engine.dispatch(engine.kernel('adapter/adapter_gate_forward', { GATED: d.gated }), {
    bindings: [y, saved.delta, inp.gates],
    params: params({ n: T * m, pad0: 0, pad1: 0, pad2: 0 }),
    workgroups: gridElements(T * m),
  });
}

/** Gradients of the layer; dx is assigned, or added to with `accumulateDx`. */
export function adapterBackward(engine: Engine, g: AdapterGrads, dy: GPUBuffer, saved: AdapterSaved, inp: AdapterInputs, spec: AdapterSpec, accumulateDx = false): void {
  const { d, overrides, scale } = common(spec);
  const { T, n, m } = spec;
  const elems = T * m;
  const groupsN = Math.ceil(elems / 256);
  const ddelta = engine.scratch('adapter.ddelta', elems * 4);
  const betaParts = engine.scratch('adapter.betaParts', groupsN * 4);
  const wg: [number, number] = groupsN <= 65535 ? [groupsN, 1] : [65535, Math.ceil(groupsN / 65535)];
  engine.dispatch(engine.kernel('adapter/adapter_gate_backward', { GATED: d.gated }), {
    bindings: [ddelta, betaParts, dy, saved.delta, inp.gates],
    params: params({ n: elems, pad0: 0, pad1: 0, pad2: 0 }),
    workgroups: wg,
  });
  const projShape = { M: T, N: m, K: d.rB, transB: true };
  matmulBackwardWeight(engine, g.dB, saved.hB, ddelta, projShape);
  const dh = engine.scratch('adapter.dh', T * d.rB * 4);
  matmulBackwardInput(engine, dh, ddelta, inp.B, projShape);
  const dproj = engine.scratch('adapter.dproj', T * (d.E + d.rA) * 4);
  const omegaParts = engine.scratch('adapter.omegaParts', T * 4);
  engine.dispatch(engine.kernel('adapter/adapter_route_backward', overrides), {
    bindings: [dproj, omegaParts, dh, saved.proj, saved.route, (d.mapper ? saved.sE : inp.s) ?? engine.dummy, inp.gates],
    params: params({ T, E: d.E, rA: d.rA, rB: d.rB, scale, pad0: 0, pad1: 0, pad2: 0 }, ['scale']),
    workgroups: gridElements(T),
  });
  if (d.mapper && inp.s && (spec.useIntuition ?? true)) {
    if (!g.dM || !inp.M) throw new Error(`adapter ${spec.method}: a mapper needs M and its gradient dM`);
    const dsE = engine.scratch('adapter.dsE', T * d.E * 4);
    adapterMapperBackward(engine, dsE, dh, saved.proj, saved.route, inp.gates, spec);
    matmulBackwardWeight(engine, g.dM, inp.s, dsE, { M: T, N: d.E, K: d.k, transB: true });
  }
  const lambdaH = spec.lambdaH ?? 0, lambdaLB = spec.lambdaLB ?? 0;
  if (d.gated && (lambdaH !== 0 || lambdaLB !== 0)) {
    // Reads f and the real-token count from the statistics of this layer's forward.
    engine.dispatch(engine.kernel('adapter/adapter_reg_backward', { MASKED: !!inp.mask }), {
      bindings: [dproj, saved.route, saved.stats, inp.mask ?? engine.dummy],
      params: params({ T, E: d.E, rA: d.rA, pad0: 0, lambdaH, lambdaLB, pad1: 0, pad2: 0 }, ['lambdaH', 'lambdaLB']),
      workgroups: gridElements(T),
    });
  }
  const inShape = { M: T, N: d.E + d.rA, K: n, transB: true };
  matmulBackwardWeight(engine, g.dWrA, inp.x, dproj, inShape);
  matmulBackwardInput(engine, g.dx, dy, inp.W0, { M: T, N: m, K: n, transB: !inp.w0InOut }, accumulateDx);
  matmulBackwardInput(engine, g.dx, dproj, inp.WrA, inShape, true);
  if (d.gated) {
    engine.dispatch(engine.kernel('adapter/adapter_gates_final'), {
      bindings: [g.dgates, betaParts, omegaParts, inp.gates],
      params: params({ betaCount: groupsN, omegaCount: T, pad0: 0, pad1: 0 }),
      workgroups: [1],
    });
  }
}
