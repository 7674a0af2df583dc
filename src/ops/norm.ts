// Launchers for shaders/norm/*: LayerNorm and RMSNorm forward and backward (one WGSL kernel
// each, RMS chosen by an override), same names and argument order as src/reference/norm.ts.
import { gridFor, params, type Engine } from '../gpu/engine.ts';
import type { NormShape } from './shapes.ts';

function forward(engine: Engine, out: GPUBuffer, mean: GPUBuffer | null, rstd: GPUBuffer, x: GPUBuffer, w: GPUBuffer, b: GPUBuffer | null, s: NormShape): void {
  engine.dispatch(engine.kernel('norm/norm_forward', { RMS: mean === null }), {
    bindings: [out, mean ?? engine.scratch('norm.mean(unused)', 4), rstd, x, w, b ?? engine.dummy],
    params: params({ N: s.N, C: s.C, eps: s.eps, pad: 0 }, ['eps']),
    workgroups: gridFor(s.N),
  });
}

function backward(
  engine: Engine, dx: GPUBuffer, dw: GPUBuffer | null, db: GPUBuffer | null, dout: GPUBuffer, x: GPUBuffer, w: GPUBuffer,
  mean: GPUBuffer | null, rstd: GPUBuffer, s: NormShape, accumulate: boolean,
): void {
  const RMS = mean === null;
  engine.dispatch(engine.kernel('norm/norm_backward', { RMS, ACCUMULATE: accumulate }), {
    bindings: [dx, dout, x, w, mean ?? engine.dummy, rstd],
    params: params({ N: s.N, C: s.C, pad0: 0, pad1: 0 }),
    workgroups: gridFor(s.N),
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
