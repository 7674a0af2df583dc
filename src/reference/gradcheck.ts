// Central finite differences in float64: checks a reference backward against its forward.

export type Vec = Float64Array;

import { rng } from '../util/random.ts';
export { rng };

/** Uniform values in [-scale, scale). */
export function randn(n: number, rand: () => number, scale = 1): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = (rand() * 2 - 1) * scale;
  return out;
}

/**
 * Numerical gradient of the scalar `loss()` with respect to every element of `x` (modified in
 * place and restored): (f(x + h) - f(x - h)) / 2h.
 */
export function numericGrad(x: Vec, loss: () => number, h = 1e-5): Float64Array {
  const g = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    x[i] = v + h;
    const fp = loss();
    x[i] = v - h;
    const fm = loss();
    x[i] = v;
    g[i] = (fp - fm) / (2 * h);
  }
  return g;
}

/** Largest |a - b| / max(|b|, floor): the relative error measure used by every check. */
export function maxRelError(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1): number {
  if (a.length !== b.length) throw new Error(`length mismatch: ${a.length} vs ${b.length}`);
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]) / Math.max(Math.abs(b[i]), floor);
    if (!(d <= worst)) worst = Number.isNaN(d) ? Infinity : d;
  }
  return worst;
}

/** Σ out ⊙ w: turns an output into a scalar loss with a fixed random upstream gradient w. */
export function dot(out: ArrayLike<number>, w: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < out.length; i++) s += out[i] * w[i];
  return s;
}
