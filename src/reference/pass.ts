// The float64 ops of the shared block schedule (src/model/schedule.ts): the reference model
// forward (model.ts) and the reference finetuning loss and gradients (train.ts) walk the same
// schedule as the GPU, with these ops composed from the float64 reference kernels. Every
// activation is a fresh array (nothing is reused), so everything a backward needs stays.
import type { ModelSpec } from '../model/config.ts';
import type { Linear, Norm } from '../model/layout.ts';
import type { BackwardOps, BlockActs, ForwardOps } from '../model/schedule.ts';
import type { AttentionShape } from '../ops/shapes.ts';
import { layernormBackward, layernormForward, rmsnormBackward, rmsnormForward } from './norm.ts';
import { matmulBackwardInput, matmulForward } from './matmul.ts';
import { attentionBackward, attentionForward } from './attention.ts';
import { geluBackward, geluForward, swigluBackward, swigluForward } from './activation.ts';
import { ropeBackward, ropeForward } from './rope.ts';

export type Weights = Map<string, Float64Array>;

export interface RefStats {
  mean: Float64Array;
  rstd: Float64Array;
}

export type RefBlockActs = BlockActs<Float64Array, RefStats>;

/** Adapted linears of a reference pass (keys `${layer}.${kind}`). */
export interface RefAdapterHook {
  has(key: string): boolean;
  /** y = x·W0 + bias + the adapter's delta, (N, lin.out). */
  forward(x: Float64Array, lin: Linear, key: string): Float64Array;
  /** dx += the adapter layer's input gradient from dy; its parameter gradients are kept by the hook. */
  backward(dx: Float64Array, dy: Float64Array, lin: Linear, key: string): void;
}

export class ReferencePass implements ForwardOps<Float64Array, RefStats>, BackwardOps<Float64Array, RefStats> {
  readonly N: number;

  constructor(
    private readonly spec: ModelSpec,
    private readonly weights: Weights,
    readonly B: number,
    readonly T: number,
    private readonly hook: RefAdapterHook | null = null,
  ) {
    this.N = B * T;
  }

  W(name: string): Float64Array {
    const w = this.weights.get(name);
    if (!w) throw new Error(`reference forward: missing weight ${name}`);
    return w;
  }

  norm(x: Float64Array, n: Norm): { y: Float64Array; stats: RefStats } {
    const { N } = this, C = this.spec.hidden, s = { N, C, eps: this.spec.normEps };
    const y = new Float64Array(N * C), mean = new Float64Array(N), rstd = new Float64Array(N);
    if (this.spec.norm === 'layernorm') layernormForward(y, mean, rstd, x, this.W(n.w), this.W(n.b!), s);
    else rmsnormForward(y, rstd, x, this.W(n.w), s);
    return { y, stats: { mean, rstd } };
  }

  linear(x: Float64Array, lin: Linear, key: string, _name: string, residual?: Float64Array): Float64Array {
    let y: Float64Array;
    if (this.hook?.has(key)) y = this.hook.forward(x, lin, key);
    else {
      y = new Float64Array(this.N * lin.out);
      matmulForward(y, x, this.W(lin.w), lin.b ? this.W(lin.b) : null, { M: this.N, N: lin.out, K: lin.in, transB: lin.outIn });
    }
    if (residual) for (let i = 0; i < y.length; i++) y[i] += residual[i];
    return y;
  }

  private ropeShape(which: 'q' | 'k') {
    const s = this.spec;
    return { B: this.B, T: this.T, H: which === 'q' ? s.heads : s.kvHeads, D: s.headDim, theta: s.ropeTheta! };
  }

  rope(x: Float64Array, which: 'q' | 'k'): Float64Array {
    const out = new Float64Array(x.length);
    ropeForward(out, x, this.ropeShape(which));
    return out;
  }

  private attShape(fused: boolean): AttentionShape {
    const s = this.spec, C = s.hidden, kvW = s.kvHeads * s.headDim;
    const base = { B: this.B, T: this.T, NH: s.heads, NKV: s.kvHeads, D: s.headDim };
    return fused
      ? { ...base, q: { stride: 3 * C, offset: 0 }, k: { stride: 3 * C, offset: C }, v: { stride: 3 * C, offset: 2 * C } }
      : { ...base, q: { stride: s.heads * s.headDim, offset: 0 }, k: { stride: kvW, offset: 0 }, v: { stride: kvW, offset: 0 } };
  }

  attention(q: Float64Array, k: Float64Array, v: Float64Array, fused: boolean): { y: Float64Array; lse: Float64Array } {
    const s = this.spec;
    const y = new Float64Array(this.N * s.heads * s.headDim), lse = new Float64Array(this.N * s.heads);
    attentionForward(y, lse, q, k, v, this.attShape(fused));
    return { y, lse };
  }

  gelu(u: Float64Array): Float64Array {
    const g = new Float64Array(u.length);
    geluForward(g, u, u.length);
    return g;
  }

  swiglu(gate: Float64Array, up: Float64Array): Float64Array {
    const a = new Float64Array(gate.length);
    swigluForward(a, gate, up, gate.length);
    return a;
  }

  normBackward(dx: Float64Array, dout: Float64Array, x: Float64Array, st: RefStats, n: Norm): void {
    const C = this.spec.hidden, s = { N: this.N, C, eps: this.spec.normEps };
    if (this.spec.norm === 'layernorm') layernormBackward(dx, new Float64Array(C), new Float64Array(C), dout, x, this.W(n.w), st.mean, st.rstd, s, true);
    else rmsnormBackward(dx, new Float64Array(C), dout, x, this.W(n.w), st.rstd, s, true);
  }

  linearBackward(dy: Float64Array, lin: Linear, key: string, _name: string, into?: Float64Array): Float64Array {
    const dx = into ?? new Float64Array(this.N * lin.in);
    if (this.hook?.has(key)) this.hook.backward(dx, dy, lin, key);
    else matmulBackwardInput(dx, dy, this.W(lin.w), { M: this.N, N: lin.out, K: lin.in, transB: lin.outIn }, true);
    return dx;
  }

  geluBackward(dg: Float64Array, u: Float64Array): Float64Array {
    const du = new Float64Array(u.length);
    geluBackward(du, dg, u, u.length);
    return du;
  }

  swigluBackward(da: Float64Array, gate: Float64Array, up: Float64Array): { dgate: Float64Array; dup: Float64Array } {
    const dgate = new Float64Array(gate.length), dup = new Float64Array(up.length);
    swigluBackward(dgate, dup, da, gate, up, gate.length);
    return { dgate, dup };
  }

  attentionBackward(datt: Float64Array, a: RefBlockActs, fused: boolean): { dq: Float64Array; dk: Float64Array; dv: Float64Array } {
    const shape = this.attShape(fused);
    if (fused) {
      const dqkv = new Float64Array(a.qkv!.length);
      attentionBackward(dqkv, dqkv, dqkv, datt, a.qkv!, a.qkv!, a.qkv!, a.att, a.lse, shape);
      return { dq: dqkv, dk: dqkv, dv: dqkv };
    }
    const dq = new Float64Array(a.q!.length), dk = new Float64Array(a.k!.length), dv = new Float64Array(a.v!.length);
    attentionBackward(dq, dk, dv, datt, a.q!, a.k!, a.v!, a.att, a.lse, shape);
    return { dq, dk, dv };
  }

  ropeBackward(d: Float64Array, which: 'q' | 'k'): Float64Array {
    const dx = new Float64Array(d.length);
    ropeBackward(dx, d, this.ropeShape(which));
    return dx;
  }
}
