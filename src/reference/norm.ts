// Float64 reference for shaders/norm/*: LayerNorm (weight, bias) and RMSNorm (weight), forward
// and backward with parameter gradients, over rows of C channels. Same names and argument
// order as src/ops/norm.ts.
import type { NormShape } from '../ops/shapes.ts';
export type { NormShape };

type Arr = Float64Array | Float32Array;

/** out = (x - mean) · rstd · w + b; saves mean and rstd per row. */
export function layernormForward(out: Arr, mean: Arr, rstd: Arr, x: Arr, w: Arr, b: Arr, s: NormShape): void {
  for (let r = 0; r < s.N; r++) {
    const o = r * s.C;
    let m = 0;
    for (let c = 0; c < s.C; c++) m += x[o + c];
    m /= s.C;
    let v = 0;
    for (let c = 0; c < s.C; c++) v += (x[o + c] - m) ** 2;
    const rs = 1 / Math.sqrt(v / s.C + s.eps);
    for (let c = 0; c < s.C; c++) out[o + c] = (x[o + c] - m) * rs * w[c] + b[c];
    mean[r] = m;
    rstd[r] = rs;
  }
}

/** dx (=|+=) LayerNorm backward; dw += Σ dout·norm; db += Σ dout. */
export function layernormBackward(dx: Arr, dw: Arr, db: Arr, dout: Arr, x: Arr, w: Arr, mean: Arr, rstd: Arr, s: NormShape, accumulate = false): void {
  for (let r = 0; r < s.N; r++) {
    const o = r * s.C;
    let mdn = 0;
    let mdnn = 0;
    for (let c = 0; c < s.C; c++) {
      const n = (x[o + c] - mean[r]) * rstd[r];
      const dn = dout[o + c] * w[c];
      mdn += dn;
      mdnn += dn * n;
      dw[c] += dout[o + c] * n;
      db[c] += dout[o + c];
    }
    mdn /= s.C;
    mdnn /= s.C;
    for (let c = 0; c < s.C; c++) {
      const n = (x[o + c] - mean[r]) * rstd[r];
      const g = rstd[r] * (dout[o + c] * w[c] - mdn - n * mdnn);
      dx[o + c] = accumulate ? dx[o + c] + g : g;
    }
  }
}

/** out = x · rstd · w with rstd = 1 / sqrt(mean(x²) + eps); saves rstd per row. */
export function rmsnormForward(out: Arr, rstd: Arr, x: Arr, w: Arr, s: NormShape): void {
  for (let r = 0; r < s.N; r++) {
    const o = r * s.C;
    let ms = 0;
    for (let c = 0; c < s.C; c++) ms += x[o + c] ** 2;
    const rs = 1 / Math.sqrt(ms / s.C + s.eps);
    for (let c = 0; c < s.C; c++) out[o + c] = x[o + c] * rs * w[c];
    rstd[r] = rs;
  }
}

/** dx (=|+=) RMSNorm backward; dw += Σ dout·norm. */
export function rmsnormBackward(dx: Arr, dw: Arr, dout: Arr, x: Arr, w: Arr, rstd: Arr, s: NormShape, accumulate = false): void {
  for (let r = 0; r < s.N; r++) {
    const o = r * s.C;
    let mdnn = 0;
    for (let c = 0; c < s.C; c++) {
      const n = x[o + c] * rstd[r];
      mdnn += dout[o + c] * w[c] * n;
      dw[c] += dout[o + c] * n;
    }
    mdnn /= s.C;
    for (let c = 0; c < s.C; c++) {
      const n = x[o + c] * rstd[r];
      const g = rstd[r] * (dout[o + c] * w[c] - n * mdnn);
      dx[o + c] = accumulate ? dx[o + c] + g : g;
    }
  }
}
