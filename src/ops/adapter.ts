// Launchers for shaders/adapter/*: one adapted linear layer's forward and backward for every
// method of METHOD.md, batched over all tokens and experts. Same names as
// src/reference/adapter.ts. The router and the expert down-projections are one matmul against
// the stacked weight [W_r; A] (E + rA rows), so one matmul also gives dW_r and dA together.
//   forward:  y = x·W0ᵀ + bias;  proj = x·[W_r; A]ᵀ;  route (softmax, top-k, mix, hB);
//             stats (partial sums per chunk of tokens, then per group);  delta = hB·Bᵀ;
//             y += beta · delta (gated; ungated methods add hB·Bᵀ to y in the matmul: no delta)
//   backward: dx = dy·W0;  dδ = beta · dy (+ <dy, δ> partials);  dB += dδᵀ·hB;  dh = dδ·B;
//             route backward → dproj = [dz | da];  dz += the regularisers' gradient at real
//             tokens (gated, λ ≠ 0);  d[W_r; A] += dprojᵀ·x;
//             dx += dproj·[W_r; A];  gate gradients from their partials
// adapterDeltaForward / adapterDeltaBackward are the adapter's own part (everything but the
// frozen base), which the benchmark times alone. The routing kernels (RoutingKernels) run a
// workgroup per group of tokens with LANES lanes per token (routeLanes: 32 on GPUs, 1 on a CPU
// fallback adapter).
// With an intuition mapper (k clusters ≠ E, METHOD.md §2) the forward first maps the scores,
// s_E = s_k·Mᵀ (a matmul, saved), and routing reads s_E; the backward adds
// ds_E = 4 (1 − w) dg on the kept experts (adapter_mapper_backward) and dM += ds_Eᵀ·s_k.
// W0 and its bias are frozen: only dx flows through them. A padding mask (one u32 per token,
// 1 = real) restricts the router statistics and the regularisers (values and gradients) to the
// real tokens; the rest of the layer is per-token and does not read it.
import { gridElements, gridFor, params, type Engine } from '../gpu/engine.ts';
import { isCpuAdapter } from '../gpu/device.ts';
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
  /** (T, m), gated methods only (their backward reads it for dw_beta); ungated ones add hB·Bᵀ straight into y. */
  delta?: GPUBuffer;
  /** groups · (3E + 2) + 1 floats, see adapter_route_stats_final.wgsl. */
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

/** Floats per saved tensor; `sE` only with a mapper, `delta` only for gated methods. */
export function adapterSavedSizes(spec: AdapterSpec, groups = 1): Record<Exclude<keyof AdapterSaved, 'sE' | 'delta'>, number> & { sE?: number; delta?: number } {
  const d = adapterDims(spec);
  return {
    proj: spec.T * (d.E + d.rA),
    route: Math.max(1, spec.T * 3 * d.E),
    hB: spec.T * d.rB,
    top1: spec.T,
    ...(d.gated ? { delta: spec.T * spec.m } : {}),
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

/**
 * Lanes per token of the routing kernels (a power of two; lane l owns experts l, l + lanes, …):
 * the smallest ≥ E (≥ rA for lora), at most `cap`. The default cap is 32 (a warp) on GPUs. On a
 * CPU fallback adapter (SwiftShader) every workgroup barrier is a fiber switch per 4 invocations,
 * which costs more than the arithmetic, so there the cap is 1: a token is one invocation (SIMD
 * lanes then hold 4 tokens), its reductions are plain loops and the kernels compile without
 * barriers. Tests force the other caps (routingKernels) to check the parallel paths there too.
 */
export function routeLanes(spec: AdapterSpec, cap: number): number {
  const d = adapterDims(spec);
  const want = d.E > 0 ? d.E : d.rA;
  let l = 1;
  while (l < want && l < cap) l *= 2;
  return l;
}

/**
 * Elements per thread of adapter_gate_backward: 1 on GPUs (a workgroup per 256 elements), 64 on a
 * CPU fallback adapter, where a workgroup's barriers cost more than its arithmetic (64x fewer
 * workgroups). Module-wide so tests can force either path (`gateTuning.elems`; 0 = by adapter).
 */
export const gateTuning = { elems: 0 };

function gateElems(engine: Engine): number {
  if (gateTuning.elems) return gateTuning.elems;
  return isCpuAdapter(engine.ctx.adapter) ? 64 : 1;
}

/** The default lane cap on this engine's adapter (see routeLanes). */
export function defaultLaneCap(engine: Engine): number {
  return isCpuAdapter(engine.ctx.adapter) ? 1 : 32;
}

function lanesFor(engine: Engine, spec: AdapterSpec, cap: number | undefined): number {
  const c = cap ?? defaultLaneCap(engine);
  if (!(Number.isInteger(Math.log2(c)) && c >= 1 && c <= 256)) throw new RangeError(`adapter: lane cap ${c} must be a power of two in 1..256`);
  return routeLanes(spec, c);
}

/** Workgroups of the per-token routing kernels: 256 / lanes tokens each, as an x (≤ 65535) by y grid. */
function tokenGrid(T: number, lanes: number): [number, number] {
  return gridFor(Math.ceil(T / (256 / lanes)));
}

/**
 * The routing kernels of one adapted layer. The app uses ROUTING (shaders/adapter/, lanes per
 * device); tests force lane caps with routingKernels, the adapter benchmark swaps in others.
 */
export interface RoutingKernels {
  /** route (T, 3E) = p | pk | g, hB (T, rB), top1 (T) from proj (T, E + rA), s (T, E) and the gates. */
  forward(engine: Engine, route: GPUBuffer, hB: GPUBuffer, top1: GPUBuffer, proj: GPUBuffer, s: GPUBuffer | null, gates: GPUBuffer, spec: AdapterSpec): void;
  /** The router statistics (adapterSavedSizes' `stats` layout) over the real tokens, per group. */
  stats(engine: Engine, stats: GPUBuffer, route: GPUBuffer, top1: GPUBuffer, task: GPUBuffer | null, mask: GPUBuffer | null, spec: AdapterSpec, groups: number): void;
  /** dproj (T, E + rA) = dz | da and the per-token ω partials (T) from dh (T, rB). */
  backward(engine: Engine, dproj: GPUBuffer, omegaParts: GPUBuffer, dh: GPUBuffer, proj: GPUBuffer, route: GPUBuffer, s: GPUBuffer | null, gates: GPUBuffer, spec: AdapterSpec): void;
  /** dz += the router regularisers' gradient at the real tokens (trex / mor1e, λ_H or λ_LB ≠ 0). */
  reg(engine: Engine, dproj: GPUBuffer, route: GPUBuffer, stats: GPUBuffer, mask: GPUBuffer | null, spec: AdapterSpec): void;
}

/** adapter_route_forward: softmax, top-k, the mix with the intuition and the gates, hB. */
export function adapterRouteForward(engine: Engine, route: GPUBuffer, hB: GPUBuffer, top1: GPUBuffer, proj: GPUBuffer, s: GPUBuffer | null, gates: GPUBuffer, spec: AdapterSpec, laneCap?: number): void {
  const { d, k, overrides, scale } = common(spec);
  const lanes = lanesFor(engine, spec, laneCap);
  engine.dispatch(engine.kernel('adapter/adapter_route_forward', { ...overrides, LANES: lanes }), {
    bindings: [route, hB, top1, proj, s ?? engine.dummy, gates],
    params: params({ T: spec.T, E: d.E, rA: d.rA, rB: d.rB, topk: k, scale, pad0: 0, pad1: 0 }, ['scale']),
    workgroups: tokenGrid(spec.T, lanes),
  });
}

/** Tokens per chunk of adapter_route_stats (one partial block per chunk and group). */
export const STATS_CHUNK = 32;

/** Floats of the statistics' partial sums (a scratch buffer of each adapted layer's forward, freed at submit). */
export function adapterStatsScratchFloats(spec: AdapterSpec, groups = 1): number {
  const d = adapterDims(spec);
  return d.E > 0 ? groups * Math.max(1, Math.ceil(spec.T / STATS_CHUNK)) * (4 * d.E + 1) : 0;
}

/**
 * Router statistics in two stages: adapter_route_stats writes partial sums per (chunk of
 * tokens, group) to a scratch buffer, adapter_route_stats_final adds them up per group.
 */
export function adapterRouteStats(engine: Engine, stats: GPUBuffer, route: GPUBuffer, top1: GPUBuffer, task: GPUBuffer | null, mask: GPUBuffer | null, spec: AdapterSpec, groups: number): void {
  const d = adapterDims(spec);
  if (d.E === 0) return;
  if (groups > 1 && !task) throw new Error('adapter: per-task statistics need the task labels');
  if (!(Number.isInteger(groups) && groups >= 1 && groups <= 65535)) throw new RangeError(`adapter: ${groups} statistics groups must be in 1..65535`);
  const chunks = Math.max(1, Math.ceil(spec.T / STATS_CHUNK));
  const threads = chunks * d.E;
  if (threads > 64 * 65535) throw new RangeError(`adapter: ${spec.T} tokens x ${d.E} experts exceed the statistics grid`);
  const partials = engine.scratch('adapter.statsPartials', adapterStatsScratchFloats(spec, groups) * 4);
  engine.dispatch(engine.kernel('adapter/adapter_route_stats', { MASKED: !!mask }), {
    bindings: [partials, route, top1, task ?? engine.dummy, mask ?? engine.dummy],
    params: params({ T: spec.T, E: d.E, chunk: STATS_CHUNK, chunks }),
    workgroups: [Math.ceil(threads / 64), groups],
  });
  engine.dispatch(engine.kernel('adapter/adapter_route_stats_final'), {
    bindings: [stats, partials],
    params: params({ E: d.E, groups, chunks, pad: 0 }),
    workgroups: [groups],
  });
}

/** adapter_route_backward: dproj = dz | da and the ω partials per token. */
export function adapterRouteBackward(engine: Engine, dproj: GPUBuffer, omegaParts: GPUBuffer, dh: GPUBuffer, proj: GPUBuffer, route: GPUBuffer, s: GPUBuffer | null, gates: GPUBuffer, spec: AdapterSpec, laneCap?: number): void {
  const { d, overrides, scale } = common(spec);
  const lanes = lanesFor(engine, spec, laneCap);
  engine.dispatch(engine.kernel('adapter/adapter_route_backward', { ...overrides, LANES: lanes }), {
    bindings: [dproj, omegaParts, dh, proj, route, s ?? engine.dummy, gates],
    params: params({ T: spec.T, E: d.E, rA: d.rA, rB: d.rB, scale, pad0: 0, pad1: 0, pad2: 0 }, ['scale']),
    workgroups: tokenGrid(spec.T, lanes),
  });
}

/** adapter_reg_backward: reads f and the real-token count from this layer's statistics. */
export function adapterRegBackward(engine: Engine, dproj: GPUBuffer, route: GPUBuffer, stats: GPUBuffer, mask: GPUBuffer | null, spec: AdapterSpec, laneCap?: number): void {
  const d = adapterDims(spec);
  const lanes = lanesFor(engine, spec, laneCap);
  engine.dispatch(engine.kernel('adapter/adapter_reg_backward', { MASKED: !!mask, LANES: lanes }), {
    bindings: [dproj, route, stats, mask ?? engine.dummy],
    params: params({ T: spec.T, E: d.E, rA: d.rA, pad0: 0, lambdaH: spec.lambdaH ?? 0, lambdaLB: spec.lambdaLB ?? 0, pad1: 0, pad2: 0 }, ['lambdaH', 'lambdaLB']),
    workgroups: tokenGrid(spec.T, lanes),
  });
}

/** The routing kernels with a fixed lane cap (a power of two, 1..256); undefined = per device. */
export function routingKernels(laneCap?: number): RoutingKernels {
  return {
    forward: (e, route, hB, top1, proj, s, gates, spec) => adapterRouteForward(e, route, hB, top1, proj, s, gates, spec, laneCap),
    stats: adapterRouteStats,
    backward: (e, dproj, omegaParts, dh, proj, route, s, gates, spec) => adapterRouteBackward(e, dproj, omegaParts, dh, proj, route, s, gates, spec, laneCap),
    reg: (e, dproj, route, stats, mask, spec) => adapterRegBackward(e, dproj, route, stats, mask, spec, laneCap),
  };
}

/** The routing kernels the app runs (lanes per device). */
export const ROUTING: RoutingKernels = routingKernels();

/**
 * y (=|+=) W0 x + bias + beta · delta; `accumulate` adds into y (a residual stream). `routing`
 * swaps the routing kernels (tests and benchmarks).
 */
export function adapterForward(engine: Engine, y: GPUBuffer, saved: AdapterSaved, inp: AdapterInputs, spec: AdapterSpec, groups = 1, accumulate = false, routing: RoutingKernels = ROUTING): void {
  const { T, n, m } = spec;
  matmulForward(engine, y, inp.x, inp.W0, inp.bias, { M: T, N: m, K: n, transB: !inp.w0InOut }, accumulate);
  adapterDeltaForward(engine, y, saved, inp, spec, groups, routing);
}

/**
 * The adapter's own forward, without the frozen base: y += beta · delta (projection, routing,
 * statistics, B, gate). `routing` swaps the routing kernels (benchmarks only).
 */
export function adapterDeltaForward(engine: Engine, y: GPUBuffer, saved: AdapterSaved, inp: AdapterInputs, spec: AdapterSpec, groups = 1, routing: RoutingKernels = ROUTING): void {
  const { d } = common(spec);
  const { T, n, m } = spec;
  if (d.gated && !inp.s) throw new Error(`adapter ${spec.method}: the intuition scores s are required`);
  if (d.E > 0 && groups > 1 && !inp.task) throw new Error('adapter: per-task statistics need the task labels');
  matmulForward(engine, saved.proj, inp.x, inp.WrA, null, { M: T, N: d.E + d.rA, K: n, transB: true });
  const s = mapScores(engine, saved, inp, spec);
  routing.forward(engine, saved.route, saved.hB, saved.top1, saved.proj, s, inp.gates, spec);
  if (d.E > 0) routing.stats(engine, saved.stats, saved.route, saved.top1, inp.task, inp.mask ?? null, spec, groups);
  const deltaShape = { M: T, N: m, K: d.rB, transB: true };
  if (!d.gated) {
    // y += hB·Bᵀ in the matmul (its `+=` adds the same finished sum the gate kernel added).
    matmulForward(engine, y, saved.hB, inp.B, null, deltaShape, true);
    return;
  }
  if (!saved.delta) throw new Error(`adapter ${spec.method}: a gated method saves delta for its backward`);
  matmulForward(engine, saved.delta, saved.hB, inp.B, null, deltaShape);
  engine.dispatch(engine.kernel('adapter/adapter_gate_forward'), {
    bindings: [y, saved.delta, inp.gates],
    params: params({ n: T * m, pad0: 0, pad1: 0, pad2: 0 }),
    workgroups: gridElements(T * m),
  });
}

/** Gradients of the layer; dx is assigned, or added to with `accumulateDx`. */
export function adapterBackward(engine: Engine, g: AdapterGrads, dy: GPUBuffer, saved: AdapterSaved, inp: AdapterInputs, spec: AdapterSpec, accumulateDx = false, routing: RoutingKernels = ROUTING): void {
  const { T, n, m } = spec;
  matmulBackwardInput(engine, g.dx, dy, inp.W0, { M: T, N: m, K: n, transB: !inp.w0InOut }, accumulateDx);
  adapterDeltaBackward(engine, g, dy, saved, inp, spec, routing);
}

/**
 * The adapter's own backward, without the frozen base: the parameter gradients (accumulated)
 * and the adapter's share of dx, added to g.dx. `routing` swaps the routing kernels (benchmarks only).
 */
export function adapterDeltaBackward(engine: Engine, g: AdapterGrads, dy: GPUBuffer, saved: AdapterSaved, inp: AdapterInputs, spec: AdapterSpec, routing: RoutingKernels = ROUTING): void {
  const { d } = common(spec);
  const { T, n, m } = spec;
  const elems = T * m;
  // Ungated (lora, molora, sira): dδ is dy, read in place. Gated: dδ = beta·dy and the partial
  // sums of <dy, δ> for dw_beta, ELEMS elements per thread.
  const ELEMS = gateElems(engine);
  const groupsN = Math.ceil(elems / (256 * ELEMS));
  let ddelta = dy, betaParts: GPUBuffer | null = null;
  if (d.gated) {
    if (!saved.delta) throw new Error(`adapter ${spec.method}: the backward needs the forward's saved delta`);
    ddelta = engine.scratch('adapter.ddelta', elems * 4);
    betaParts = engine.scratch('adapter.betaParts', groupsN * 4);
    engine.dispatch(engine.kernel('adapter/adapter_gate_backward', { ELEMS }), {
      bindings: [ddelta, betaParts, dy, saved.delta, inp.gates],
      params: params({ n: elems, pad0: 0, pad1: 0, pad2: 0 }),
      workgroups: gridFor(groupsN),
    });
  }
  const projShape = { M: T, N: m, K: d.rB, transB: true };
  matmulBackwardWeight(engine, g.dB, saved.hB, ddelta, projShape);
  const dh = engine.scratch('adapter.dh', T * d.rB * 4);
  matmulBackwardInput(engine, dh, ddelta, inp.B, projShape);
  const dproj = engine.scratch('adapter.dproj', T * (d.E + d.rA) * 4);
  const omegaParts = engine.scratch('adapter.omegaParts', T * 4);
  const sE = (d.mapper ? saved.sE : inp.s) ?? null;
  routing.backward(engine, dproj, omegaParts, dh, saved.proj, saved.route, sE, inp.gates, spec);
  if (d.mapper && inp.s && (spec.useIntuition ?? true)) {
    if (!g.dM || !inp.M) throw new Error(`adapter ${spec.method}: a mapper needs M and its gradient dM`);
    const dsE = engine.scratch('adapter.dsE', T * d.E * 4);
    adapterMapperBackward(engine, dsE, dh, saved.proj, saved.route, inp.gates, spec);
    matmulBackwardWeight(engine, g.dM, inp.s, dsE, { M: T, N: d.E, K: d.k, transB: true });
  }
  const lambdaH = spec.lambdaH ?? 0, lambdaLB = spec.lambdaLB ?? 0;
  // Reads f and the real-token count from the statistics of this layer's forward.
  if (d.gated && (lambdaH !== 0 || lambdaLB !== 0)) routing.reg(engine, dproj, saved.route, saved.stats, inp.mask ?? null, spec);
  const inShape = { M: T, N: d.E + d.rA, K: n, transB: true };
  matmulBackwardWeight(engine, g.dWrA, inp.x, dproj, inShape);
  matmulBackwardInput(engine, g.dx, dproj, inp.WrA, inShape, true);
  if (betaParts) {
    engine.dispatch(engine.kernel('adapter/adapter_gates_final'), {
      bindings: [g.dgates, betaParts, omegaParts, inp.gates],
      params: params({ betaCount: groupsN, omegaCount: T, pad0: 0, pad1: 0 }),
      workgroups: [1],
    });
  }
}
