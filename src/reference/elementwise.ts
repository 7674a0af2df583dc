// Float64 reference for shaders/elementwise/*: residual add and scale, forward and backward.
// Same names and argument order as src/ops/elementwise.ts.

type Arr = Float64Array | Float32Array;

/** out = a + b (the residual stream). */
export function addForward(out: Arr, a: Arr, b: Arr, n: number): void {
  for (let i = 0; i < n; i++) out[i] = a[i] + b[i];
}

/** da += dout; db += dout (the residual stream's gradient flows to both branches). */
export function addBackward(da: Arr, db: Arr, dout: Arr, n: number): void {
  for (let i = 0; i < n; i++) {
    da[i] += dout[i];
    db[i] += dout[i];
  }
}

/** out (=|+=) alpha · x. */
export function scaleForward(out: Arr, x: Arr, alpha: number, n: number, accumulate = false): void {
  for (let i = 0; i < n; i++) out[i] = (accumulate ? out[i] : 0) + alpha * x[i];
}

/** dx (=|+=) alpha · dout. */
export function scaleBackward(dx: Arr, dout: Arr, alpha: number, n: number, accumulate = false): void {
  scaleForward(dx, dout, alpha, n, accumulate);
}
