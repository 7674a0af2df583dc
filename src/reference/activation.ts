// Float64 reference for shaders/activation/*: GELU (tanh approximation, GPT-2's gelu_new),
// exact GELU (erf, BERT's "gelu"), SiLU, and SwiGLU silu(gate)·up, forward and backward,
// elementwise over n values. Same names and argument order as src/ops/activation.ts.

type Arr = Float64Array | Float32Array;

const GELU_K = Math.sqrt(2 / Math.PI);

export function geluForward(out: Arr, x: Arr, n: number): void {
  for (let i = 0; i < n; i++) {
    const v = x[i];
    out[i] = 0.5 * v * (1 + Math.tanh(GELU_K * (v + 0.044715 * v ** 3)));
  }
}

/** dx (=|+=) dout · gelu'(x). */
export function geluBackward(dx: Arr, dout: Arr, x: Arr, n: number, accumulate = false): void {
  for (let i = 0; i < n; i++) {
    const v = x[i];
    const u = GELU_K * (v + 0.044715 * v ** 3);
    const th = Math.tanh(u);
    const d = 0.5 * (1 + th) + 0.5 * v * (1 - th * th) * GELU_K * (1 + 3 * 0.044715 * v * v);
    dx[i] = (accumulate ? dx[i] : 0) + dout[i] * d;
  }
}

const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

/**
 * erfc(x) for x ≥ 3: the continued fraction erfc(x) = e^{−x²}/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))),
 * evaluated from 80 levels down (converged to double precision for x ≥ 3).
 */
function erfcTail(x: number): number {
  let f = x;
  for (let n = 80; n >= 1; n--) f = x + n / 2 / f;
  return Math.exp(-x * x) / (Math.sqrt(Math.PI) * f);
}

/**
 * erf in float64 (JavaScript has none). |x| < 3: erf(x) = 2/√π · e^{−x²} · Σ_{n≥0} 2ⁿ x^{2n+1} / (1·3·…·(2n+1)),
 * a series of positive terms (no cancellation); beyond, 1 − erfc(|x|) from the continued fraction.
 * Accurate to a few units in the last place.
 */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const a = Math.abs(x);
  if (a >= 3) return Math.sign(x) * (1 - erfcTail(a));
  let term = a;
  let sum = a;
  for (let n = 1; term > 1e-17 * sum; n++) {
    term *= (2 * a * a) / (2 * n + 1);
    sum += term;
  }
  return Math.sign(x) * TWO_OVER_SQRT_PI * Math.exp(-a * a) * sum;
}

/** erfc(x) = 1 − erf(x), with relative accuracy kept in the upper tail. */
export function erfc(x: number): number {
  return x >= 3 ? erfcTail(x) : 1 - erf(x);
}

/** Φ(x), the standard normal CDF: erfc(−x/√2)/2. */
const normalCdf = (x: number) => 0.5 * erfc(-x / Math.SQRT2);

/** out = 0.5·x·(1 + erf(x/√2)) = x·Φ(x), exact GELU. */
export function geluErfForward(out: Arr, x: Arr, n: number): void {
  for (let i = 0; i < n; i++) out[i] = x[i] * normalCdf(x[i]);
}

/** dx (=|+=) dout · (Φ(x) + x·φ(x)). */
export function geluErfBackward(dx: Arr, dout: Arr, x: Arr, n: number, accumulate = false): void {
  for (let i = 0; i < n; i++) {
    const v = x[i];
    const d = normalCdf(v) + (v * Math.exp(-0.5 * v * v)) / Math.sqrt(2 * Math.PI);
    dx[i] = (accumulate ? dx[i] : 0) + dout[i] * d;
  }
}

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

export function siluForward(out: Arr, x: Arr, n: number): void {
  for (let i = 0; i < n; i++) out[i] = x[i] * sigmoid(x[i]);
}

export function siluBackward(dx: Arr, dout: Arr, x: Arr, n: number, accumulate = false): void {
  for (let i = 0; i < n; i++) {
    const s = sigmoid(x[i]);
    dx[i] = (accumulate ? dx[i] : 0) + dout[i] * s * (1 + x[i] * (1 - s));
  }
}

/** out = silu(gate) · up. */
export function swigluForward(out: Arr, gate: Arr, up: Arr, n: number): void {
  for (let i = 0; i < n; i++) out[i] = gate[i] * sigmoid(gate[i]) * up[i];
}

/** dgate = dout · up · silu'(gate); dup = dout · silu(gate) (both assigned). */
export function swigluBackward(dgate: Arr, dup: Arr, dout: Arr, gate: Arr, up: Arr, n: number): void {
  for (let i = 0; i < n; i++) {
    const s = sigmoid(gate[i]);
    dgate[i] = dout[i] * up[i] * s * (1 + gate[i] * (1 - s));
    dup[i] = dout[i] * gate[i] * s;
  }
}
