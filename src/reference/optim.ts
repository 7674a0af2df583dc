// Float64 reference for shaders/optim/* and shaders/reduce/*: AdamW (decoupled weight decay,
// bias correction, per-tensor learning-rate multiplier, optional global-norm clipping) and the
// reductions behind the global gradient norm and the mean loss.
// Same names and argument order as src/ops/optim.ts and src/ops/reduce.ts.
import type { ReduceOptions, AdamWHyper } from '../ops/shapes.ts';
export type { ReduceOptions, AdamWHyper };

type Arr = Float64Array | Float32Array;

/** out[0] = scale · (sqrt?)(Σ over every tensor of x or x²). */
export function reduceSum(out: Arr, tensors: Arr[], opts: ReduceOptions = {}): void {
  let s = 0;
  for (const x of tensors) for (let i = 0; i < x.length; i++) s += opts.square ? x[i] * x[i] : x[i];
  if (opts.sqrt) s = Math.sqrt(s);
  out[0] = s * (opts.scale ?? 1);
}

/** The factor that clipping applies to every gradient: min(1, maxNorm / (norm + 1e-6)). */
export function clipScale(norm: number, maxNorm: number): number {
  return maxNorm > 0 ? Math.min(1, maxNorm / (norm + 1e-6)) : 1;
}

/** One AdamW step on n elements: updates param, m, v in place (PyTorch's AdamW). */
export function adamwUpdate(param: Arr, m: Arr, v: Arr, grad: Arr, norm: Arr | null, h: AdamWHyper, n: number): void {
  const lr = h.lr * (h.lrMult ?? 1);
  const g0 = h.maxNorm ? clipScale(norm![0], h.maxNorm) : 1;
  const bc1 = 1 - h.beta1 ** h.step;
  const bc2 = 1 - h.beta2 ** h.step;
  for (let i = 0; i < n; i++) {
    const g = grad[i] * g0;
    m[i] = h.beta1 * m[i] + (1 - h.beta1) * g;
    v[i] = h.beta2 * v[i] + (1 - h.beta2) * g * g;
    const mhat = m[i] / bc1;
    const vhat = v[i] / bc2;
    param[i] -= lr * (mhat / (Math.sqrt(vhat) + h.eps) + h.weightDecay * param[i]);
  }
}

/** The optimiser guard's state: applied steps t, this step's skip flag, consecutive skips, total skips. */
export interface GuardState {
  t: number;
  skip: number;
  run: number;
  skipped: number;
}

/** Skips the step when the loss or the global gradient norm is not finite (NaN, ±inf); else counts it applied. */
export function optimGuard(state: GuardState, loss: number, norm: number): GuardState {
  const ok = Number.isFinite(loss) && Number.isFinite(norm);
  return ok ? { t: state.t + 1, skip: 0, run: 0, skipped: state.skipped } : { t: state.t, skip: 1, run: state.run + 1, skipped: state.skipped + 1 };
}
