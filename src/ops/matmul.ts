// Launchers for shaders/matmul/*: matmulForward and the backward products, same names and
// argument order as src/reference/matmul.ts (plus the engine first). Both backward products
// run the forward kernel with the operands' transposes rearranged, so one tuned kernel serves
// all three; the bias gradient has its own reduction kernel.

import { params, type Engine } from '../gpu/engine.ts';
import { resolveMatmulShape, type MatmulShape, type ResolvedMatmulShape } from './shapes.ts';

/** 'tiled' is the production kernel; 'naive' the simple baseline it must beat (bench page). */
export type MatmulVariant = 'tiled' | 'naive';

const TILE = 64;

function launch(engine: Engine, C: GPUBuffer, A: GPUBuffer, B: GPUBuffer, bias: GPUBuffer | null, s: ResolvedMatmulShape, accumulate: boolean, variant: MatmulVariant): void {
  const file = variant === 'tiled' ? 'matmul/matmul_forward' : 'matmul/matmul_forward_naive';
  const kernel = engine.kernel(file, {
    TRANS_A: s.transA,
    TRANS_B: s.transB,
    HAS_BIAS: bias !== null,
    ACCUMULATE: accumulate,
  });
  const grid: [number, number, number] =
    variant === 'naive' ? [Math.ceil(s.N / 16), Math.ceil(s.M / 16), s.batch] : [Math.ceil(s.N / TILE), Math.ceil(s.M / TILE), s.batch];
  engine.dispatch(kernel, {
    bindings: [C, A, B, bias ?? engine.dummy],
    params: params({ M: s.M, N: s.N, K: s.K, batch: s.batch, strideA: s.strideA, strideB: s.strideB, strideC: s.strideC, pad: 0 }),
    workgroups: grid,
  });
}

/** C (=|+=) op(A) · op(B) (+ bias). */
export function matmulForward(
  engine: Engine, C: GPUBuffer, A: GPUBuffer, B: GPUBuffer, bias: GPUBuffer | null, shape: MatmulShape,
  accumulate = false, variant: MatmulVariant = 'tiled',
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
  if (s.transA) launch(engine, dA, B, dC, null, t, accumulate, 'tiled');
  else launch(engine, dA, dC, B, null, t, accumulate, 'tiled');
}

/** dB (+=|=) op(A)ᵀ · dC, written in B's stored layout (accumulates by default: a parameter gradient). */
export function matmulBackwardWeight(engine: Engine, dB: GPUBuffer, A: GPUBuffer, dC: GPUBuffer, shape: MatmulShape, accumulate = true): void {
  const s = foldSharedBatch(resolveMatmulShape(shape), 'B');
  const base = { batch: s.batch };
  if (s.transB) {
    const t = { ...base, M: s.N, N: s.K, K: s.M, transA: true, transB: s.transA, strideA: s.strideC, strideB: s.strideA, strideC: s.strideB };
    launch(engine, dB, dC, A, null, t, accumulate, 'tiled');
  } else {
    const t = { ...base, M: s.K, N: s.N, K: s.M, transA: !s.transA, transB: false, strideA: s.strideA, strideB: s.strideC, strideC: s.strideB };
    launch(engine, dB, A, dC, null, t, accumulate, 'tiled');
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
