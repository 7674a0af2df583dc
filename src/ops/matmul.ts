// Launchers for shaders/matmul/*: matmulForward and the backward products, same names and
// argument order as src/reference/matmul.ts (plus the engine first). Both backward products
// run the forward kernels with the operands' transposes rearranged, so the same kernels serve
// all three: the tiled matmul_forward, and matmul_skinny (vec4 loads) / matmul_skinny_scalar
// (any shape) for at most 16 rows without a transposed A (decoding, short prompts), chosen by
// `planMatmul`. The bias gradient has its own reduction kernel.

import { params, type Engine } from '../gpu/engine.ts';
import { isCpuAdapter, type AdapterDescription } from '../gpu/device.ts';
import { resolveMatmulShape, type MatmulShape, type ResolvedMatmulShape } from './shapes.ts';

/**
 * 'auto' (the default) picks the kernel from the shape: matmul_skinny for at most
 * `matmulTuning.skinnyMaxM` rows without a transposed A, the tiled matmul_forward otherwise.
 * 'tiled' and 'skinny' force one kernel (benchmarks, tests; 'skinny' throws where it does not
 * apply); 'naive' is the simple baseline the tiled kernel must beat (bench page).
 */
export type MatmulVariant = 'auto' | 'tiled' | 'skinny' | 'naive';

/** The most rows (per batch entry) matmul_skinny takes: its accumulators are sized for 16. */
export const SKINNY_MAX_M = 16;

/**
 * Module-wide knobs. `skinnyMaxM`: 'auto' sends op(A)·op(B) with at most this many rows
 * (0 ≤ skinnyMaxM ≤ SKINNY_MAX_M) to matmul_skinny; 0 keeps every product on the tiled kernel,
 * the path before matmul_skinny existed (the decode benchmark's "before"). `skinnyKSplit`: threads
 * that split K for one column group (a power of two, 1..64); 0 = by adapter (`skinnyKSplitFor`).
 */
export const matmulTuning = { skinnyMaxM: SKINNY_MAX_M, skinnyKSplit: 0 };

/**
 * matmul_skinny's K split on this adapter: on a GPU 16 threads (B stored N x K: 16 consecutive
 * vec4 of each of a group's 4 rows) or 8 (K x N: 8 K-slices of 8 column vec4), with a
 * workgroup-memory reduction; on SwiftShader 1 (no reduction), since it pays per workgroup for
 * workgroup memory (BENCHMARKS.md, skinny-M).
 */
export function skinnyKSplitFor(adapter: AdapterDescription, transB: boolean): number {
  if (isCpuAdapter(adapter)) return 1;
  return transB ? 16 : 8;
}

const TILE = 64;
const SKINNY_THREADS = 64;

/** What one launch runs: the kernel file, its overrides, the (possibly folded) shape and the grid. */
export interface MatmulPlan {
  file: string;
  overrides: Record<string, number | boolean>;
  shape: ResolvedMatmulShape;
  workgroups: [number, number, number];
}

/**
 * A batch sharing B (stride 0) with A and C contiguous is one product of batch·M rows: for the
 * skinny kernel that reads B once instead of once per batch entry.
 */
function foldSharedB(s: ResolvedMatmulShape): ResolvedMatmulShape {
  if (s.batch > 1 && s.strideB === 0 && !s.transA && s.strideA === s.M * s.K && s.strideC === s.M * s.N) {
    return { ...s, batch: 1, M: s.batch * s.M, strideA: 0, strideC: 0 };
  }
  return s;
}

/** The skinny plan for `s`, or why it does not apply. */
function skinnyPlan(s0: ResolvedMatmulShape, bias: boolean, accumulate: boolean, maxM: number, kSplit: number): MatmulPlan | string {
  if (s0.transA) return 'A is transposed';
  const folded = foldSharedB(s0);
  const s = folded.M <= maxM ? folded : s0;
  if (s.M > maxM) return `M = ${s.M} exceeds ${maxM}`;
  if (!(Number.isInteger(Math.log2(kSplit)) && kSplit >= 1 && kSplit <= SKINNY_THREADS)) throw new RangeError(`matmul: K split ${kSplit} must be a power of two in 1..${SKINNY_THREADS}`);
  // Columns per workgroup: SKINNY_THREADS / kSplit groups of 4.
  const bn = (SKINNY_THREADS / kSplit) * 4;
  const groups = Math.ceil(s.N / bn);
  if (groups > 65535) return `N = ${s.N} needs ${groups} workgroups`;
  // Vec4 views of A and B need rows and batch entries that start on 16-byte boundaries.
  const aligned = s.K % 4 === 0 && (s.transB || s.N % 4 === 0) && s.strideA % 4 === 0 && s.strideB % 4 === 0;
  let rows = 1;
  while (rows < s.M) rows *= 2;
  return {
    file: aligned ? 'matmul/matmul_skinny' : 'matmul/matmul_skinny_scalar',
    overrides: { TRANS_B: s.transB, HAS_BIAS: bias, ACCUMULATE: accumulate, ROWS: rows, KSPLIT: kSplit },
    shape: s,
    workgroups: [groups, 1, s.batch],
  };
}

/**
 * The kernel, overrides and grid that `matmulForward` (and the backward products) would launch.
 * `kSplit` is matmul_skinny's K split (the launcher passes `matmulTuning.skinnyKSplit` or the
 * adapter's default).
 */
export function planMatmul(
  shape: MatmulShape | ResolvedMatmulShape, bias: boolean, accumulate: boolean, variant: MatmulVariant = 'auto', kSplit = 1,
): MatmulPlan {
  const s = resolveMatmulShape(shape);
  if (variant === 'auto' || variant === 'skinny') {
    const maxM = variant === 'skinny' ? SKINNY_MAX_M : Math.min(SKINNY_MAX_M, Math.max(0, Math.floor(matmulTuning.skinnyMaxM)));
    const plan = skinnyPlan(s, bias, accumulate, maxM, kSplit);
    if (typeof plan !== 'string') return plan;
    if (variant === 'skinny') throw new Error(`matmul: the skinny kernel does not apply: ${plan}`);
  }
  const naive = variant === 'naive';
  return {
    file: naive ? 'matmul/matmul_forward_naive' : 'matmul/matmul_forward',
    overrides: { TRANS_A: s.transA, TRANS_B: s.transB, HAS_BIAS: bias, ACCUMULATE: accumulate },
    shape: s,
    workgroups: naive ? [Math.ceil(s.N / 16), Math.ceil(s.M / 16), s.batch] : [Math.ceil(s.N / TILE), Math.ceil(s.M / TILE), s.batch],
  };
}

function launch(engine: Engine, C: GPUBuffer, A: GPUBuffer, B: GPUBuffer, bias: GPUBuffer | null, s0: ResolvedMatmulShape, accumulate: boolean, variant: MatmulVariant): void {
  const kSplit = matmulTuning.skinnyKSplit || skinnyKSplitFor(engine.ctx.adapter, s0.transB);
  const plan = planMatmul(s0, bias !== null, accumulate, variant, kSplit);
  const s = plan.shape;
  engine.dispatch(engine.kernel(plan.file, plan.overrides), {
    bindings: [C, A, B, bias ?? engine.dummy],
    params: params({ M: s.M, N: s.N, K: s.K, batch: s.batch, strideA: s.strideA, strideB: s.strideB, strideC: s.strideC, pad: 0 }),
    workgroups: plan.workgroups,
  });
}

/** C (=|+=) op(A) · op(B) (+ bias); the kernel follows the shape (see `MatmulVariant`). */
export function matmulForward(
  engine: Engine, C: GPUBuffer, A: GPUBuffer, B: GPUBuffer, bias: GPUBuffer | null, shape: MatmulShape,
  accumulate = false, variant: MatmulVariant = 'auto',
): void {
  launch(engine, C, A, B, bias, resolveMatmulShape(shape), accumulate, variant);
}

/**
 * A batch whose `shared` operand has stride 0 must sum its gradient over the batch. That folds
 * into one matmul when the other two operands are contiguous (batch, rows) stacks; otherwise it
 * is not supported and says so.
 */
function foldSharedBatch(s: ResolvedMatmulShape, which: 'A' | 'B'): ResolvedMatmulShape {
  if (s.batch === 1) return s;
  const shared = which === 'A' ? s.strideA : s.strideB;
  if (shared !== 0) return s;
  if (which === 'B' && !s.transA && s.strideA === s.M * s.K && s.strideC === s.M * s.N) {
    return { ...s, batch: 1, M: s.batch * s.M, strideA: 0, strideC: 0 };
  }
  throw new Error(
    `matmul backward: the gradient of a shared ${which} (stride 0) over ${s.batch} batch entries needs ` +
      (which === 'B' ? 'A untransposed and A, C contiguous' : 'a layout that is not supported'),
  );
}

/** dA (=|+=) dC · op(B)ᵀ, written in A's stored layout. */
export function matmulBackwardInput(engine: Engine, dA: GPUBuffer, dC: GPUBuffer, B: GPUBuffer, shape: MatmulShape, accumulate = false): void {
  const s = foldSharedBatch(resolveMatmulShape(shape), 'A');
  const base = { batch: s.batch };
  const t: ResolvedMatmulShape = s.transA
    ? { ...base, M: s.K, N: s.M, K: s.N, transA: s.transB, transB: true, strideA: s.strideB, strideB: s.strideC, strideC: s.strideA }
    : { ...base, M: s.M, N: s.K, K: s.N, transA: false, transB: !s.transB, strideA: s.strideC, strideB: s.strideB, strideC: s.strideA };
  if (s.transA) launch(engine, dA, B, dC, null, t, accumulate, 'auto');
  else launch(engine, dA, dC, B, null, t, accumulate, 'auto');
}

/** dB (+=|=) op(A)ᵀ · dC, written in B's stored layout (accumulates by default: a parameter gradient). */
export function matmulBackwardWeight(engine: Engine, dB: GPUBuffer, A: GPUBuffer, dC: GPUBuffer, shape: MatmulShape, accumulate = true): void {
  const s = foldSharedBatch(resolveMatmulShape(shape), 'B');
  const base = { batch: s.batch };
  if (s.transB) {
    const t = { ...base, M: s.N, N: s.K, K: s.M, transA: true, transB: s.transA, strideA: s.strideC, strideB: s.strideA, strideC: s.strideB };
    launch(engine, dB, dC, A, null, t, accumulate, 'auto');
  } else {
    const t = { ...base, M: s.K, N: s.N, K: s.M, transA: !s.transA, transB: false, strideA: s.strideA, strideB: s.strideC, strideC: s.strideB };
    launch(engine, dB, A, dC, null, t, accumulate, 'auto');
  }
}

/** dbias += Σ over batch and rows of dC (C must be contiguous). */
export function matmulBackwardBias(engine: Engine, dbias: GPUBuffer, dC: GPUBuffer, shape: MatmulShape): void {
  const s = resolveMatmulShape(shape);
  if (s.batch > 1 && s.strideC !== s.M * s.N) throw new Error('matmulBackwardBias: dC must be contiguous over the batch');
  engine.dispatch(engine.kernel('matmul/matmul_backward_bias'), {
    bindings: [dbias, dC],
    params: params({ rows: s.batch * s.M, N: s.N, pad0: 0, pad1: 0 }),
    workgroups: [Math.ceil(s.N / 16)],
  });
}
