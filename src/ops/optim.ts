// Launchers for shaders/optim/*: adamwUpdate, same name and argument order as
// src/reference/optim.ts. Clipping reads the global norm that reduceSum left on the GPU.
import { gridElements, params, type Engine } from '../gpu/engine.ts';
import type { AdamWHyper } from './shapes.ts';

/**
 * One AdamW step. With `guard` (optim_guard's state), the step number is the guard's count of
 * applied steps and a step it marked skipped changes nothing; `h.step` is then ignored.
 */
export function adamwUpdate(engine: Engine, param: GPUBuffer, m: GPUBuffer, v: GPUBuffer, grad: GPUBuffer, norm: GPUBuffer | null, h: AdamWHyper, n: number, guard: GPUBuffer | null = null): void {
  const clip = (h.maxNorm ?? 0) > 0;
  if (clip && !norm) throw new Error('adamwUpdate: maxNorm > 0 needs the global gradient norm buffer');
  if (!guard && !(h.step >= 1)) throw new RangeError(`adamwUpdate: step must be ≥ 1 (1-based), got ${h.step}`);
  const step = guard ? 1 : h.step;
  engine.dispatch(engine.kernel('optim/adamw_update', { CLIP: clip, GUARDED: guard !== null }), {
    bindings: [param, m, v, grad, norm ?? engine.dummy, guard ?? engine.dummy],
    params: params(
      {
        n, lr: h.lr * (h.lrMult ?? 1), beta1: h.beta1, beta2: h.beta2, eps: h.eps, wd: h.weightDecay,
        bc1: 1 - h.beta1 ** step, bc2: 1 - h.beta2 ** step, maxNorm: h.maxNorm ?? 0, pad0: 0, pad1: 0, pad2: 0,
      },
      ['lr', 'beta1', 'beta2', 'eps', 'wd', 'bc1', 'bc2', 'maxNorm'],
    ),
    workgroups: gridElements(n),
  });
}

/**
 * Whether this step is applied (loss and global norm finite), kept on the GPU in `guard`
 * (4 u32: applied steps t, this step's skip flag, consecutive skips, total skips); the skip flag
 * also goes into history[flagAt] for the host to read with the losses.
 */
export function optimGuard(engine: Engine, guard: GPUBuffer, history: GPUBuffer, norm: GPUBuffer, at: { lossAt: number; flagAt: number }): void {
  engine.dispatch(engine.kernel('optim/optim_guard'), {
    bindings: [guard, history, norm],
    params: params({ lossAt: at.lossAt, flagAt: at.flagAt, pad0: 0, pad1: 0 }),
    workgroups: [1, 1],
  });
}
