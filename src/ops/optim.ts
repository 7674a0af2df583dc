// Launchers for shaders/optim/*: adamwUpdate, same name and argument order as
// src/reference/optim.ts. Clipping reads the global norm that reduceSum left on the GPU.
import { gridElements, params, type Engine } from '../gpu/engine.ts';
import type { AdamWHyper } from '../reference/optim.ts';

export function adamwUpdate(engine: Engine, param: GPUBuffer, m: GPUBuffer, v: GPUBuffer, grad: GPUBuffer, norm: GPUBuffer | null, h: AdamWHyper, n: number): void {
  const clip = (h.maxNorm ?? 0) > 0;
  if (clip && !norm) throw new Error('adamwUpdate: maxNorm > 0 needs the global gradient norm buffer');
  if (!(h.step >= 1)) throw new RangeError(`adamwUpdate: step must be ≥ 1 (1-based), got ${h.step}`);
  engine.dispatch(engine.kernel('optim/adamw_update', { CLIP: clip }), {
    bindings: [param, m, v, grad, norm ?? engine.dummy],
    params: params(
      {
        n, lr: h.lr * (h.lrMult ?? 1), beta1: h.beta1, beta2: h.beta2, eps: h.eps, wd: h.weightDecay,
        bc1: 1 - h.beta1 ** h.step, bc2: 1 - h.beta2 ** h.step, maxNorm: h.maxNorm ?? 0, pad0: 0, pad1: 0, pad2: 0,
      },
      ['lr', 'beta1', 'beta2', 'eps', 'wd', 'bc1', 'bc2', 'maxNorm'],
    ),
    workgroups: gridElements(n),
  });
}
