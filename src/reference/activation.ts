// Float64 reference for shaders/activation/*: GELU (tanh approximation, GPT-2's gelu_new),
// SiLU, and SwiGLU silu(gate)·up, forward and backward, elementwise over n values.
// Same names and argument order as src/ops/activation.ts.

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
