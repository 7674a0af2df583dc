// Launchers for shaders/norm/*: LayerNorm and RMSNorm forward and backward (one WGSL kernel
// each, RMS chosen by an override), same names and argument order as src/reference/norm.ts.
import { gridFor, params, type Engine } from '../gpu/engine.ts';
import { isCpuAdapter } from '../gpu/device.ts';
import type { NormShape } from './shapes.ts';

/**
 * Threads per row of norm_forward / norm_backward (a power of two, 1..256; a workgroup of 256
 * takes 256 / lanes rows). `lanes` 0: by adapter (`normLanes`); tests force the others.
 */
export const normTuning = { lanes: 0 };

/**
 * 256 on GPUs (a workgroup per row, tree reductions); 1 on a CPU fallback adapter, where each of a
 * row's barriers (ten per reduction, one reduction for RMSNorm and two for LayerNorm) is a fiber
 * switch per SIMD group and costs more than the row's arithmetic (BENCHMARKS.md, "Where a training
 * step's time goes").
 */
export function normLanes(engine: Engine): number {
  const l = normTuning.lanes || (isCpuAdapter(engine.ctx.adapter) ? 1 : 256);
  if (!(Number.isInteger(Math.log2(l)) && l >= 1 && l <= 256)) throw new RangeError(`norm: ${l} lanes per row must be a power of two in 1..256`);
  return l;
}

function rowGrid(N: number, lanes: number): [number, number] {
  return gridFor(Math.ceil(N / (256 / lanes)));
}

function forward(engine: Engine, out: GPUBuffer, mean: GPUBuffer | null, rstd: GPUBuffer, x: GPUBuffer, w: GPUBuffer, b: GPUBuffer | null, s: NormShape): void {
  const LANES = normLanes(engine);
  engine.dispatch(engine.kernel('norm/norm_forward', { RMS: mean === null, LANES }), {
    bindings: [out, mean ?? engine.scratch('norm.mean(unused)', 4), rstd, x, w, b ?? engine.dummy],
    params: params({ N: s.N, C: s.C, eps: s.eps, pad: 0 }, ['eps']),
    workgroups: rowGrid(s.N, LANES),
  });
}

function backward(
  engine: Engine, dx: GPUBuffer, dw: GPUBuffer | null, db: GPUBuffer | null, dout: GPUBuffer, x: GPUBuffer, w: GPUBuffer,
  mean: GPUBuffer | null, rstd: GPUBuffer, s: NormShape, accumulate: boolean,
): void {
  const RMS = mean === null, LANES = normLanes(engine);
  engine.dispatch(engine.kernel('norm/norm_backward', { RMS, ACCUMULATE: accumulate, LANES }), {
    bindings: [dx, dout, x, w, mean ?? engine.dummy, rstd],
    params: params({ N: s.N, C: s.C, pad0: 0, pad1: 0 }),
    workgroups: rowGrid(s.N, LANES),
  });
  if (!dw) return; // frozen weights: no parameter gradients wanted
  engine.dispatch(engine.kernel('norm/norm_backward_weight', { RMS }), {
    bindings: [dw, db ?? engine.scratch('norm.db(unused)', 4), dout, x, mean ?? engine.dummy, rstd],
    params: params({ N: s.N, C: s.C, pad0: 0, pad1: 0 }),
    workgroups: [Math.ceil(s.C / 16)],
  });
}

export function layernormForward(engine: Engine, out: GPUBuffer, mean: GPUBuffer, rstd: GPUBuffer, x: GPUBuffer, w: GPUBuffer, b: GPUBuffer, s: NormShape): void {
  forward(engine, out, mean, rstd, x, w, b, s);
}

/** dx (=|+=), dw +=, db += (dw, db null: weights frozen, only dx). */
export function layernormBackward(
  engine: Engine, dx: GPUBuffer, dw: GPUBuffer | null, db: GPUBuffer | null, dout: GPUBuffer, x: GPUBuffer, w: GPUBuffer,
  mean: GPUBuffer, rstd: GPUBuffer, s: NormShape, accumulate = false,
): void {
  backward(engine, dx, dw, db, dout, x, w, mean, rstd, s, accumulate);
}

export function rmsnormForward(engine: Engine, out: GPUBuffer, rstd: GPUBuffer, x: GPUBuffer, w: GPUBuffer, s: NormShape): void {
  forward(engine, out, null, rstd, x, w, null, s);
}

/** dx (=|+=), dw += (dw null: weight frozen, only dx). */
export function rmsnormBackward(engine: Engine, dx: GPUBuffer, dw: GPUBuffer | null, dout: GPUBuffer, x: GPUBuffer, w: GPUBuffer, rstd: GPUBuffer, s: NormShape, accumulate = false): void {
  backward(engine, dx, dw, null, dout, x, w, null, rstd, s, accumulate);
}
