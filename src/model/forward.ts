// One pass of a loaded model over B sequences of T tokens on the GPU: the ops of the shared
// block schedule (src/model/schedule.ts) on GPU buffers. The same pass serves inference
// (B = 1 with a KV cache, or right-padded batches for evaluation and embeddings), and the
// training forward and backward; adapters attach through a hook that the trainer (or a loaded
// adapter) supplies. Without `save`, a pass reuses one buffer per activation name across blocks
// and adds residuals in place; with it, every activation gets its own buffer for the backward.
import type { Engine } from '../gpu/engine.ts';
import { matmulBackwardInput, matmulForward } from '../ops/matmul.ts';
import { embeddingForward } from '../ops/embedding.ts';
import { layernormBackward, layernormForward, rmsnormBackward, rmsnormForward } from '../ops/norm.ts';
import { attentionBackward, attentionForward } from '../ops/attention.ts';
import { geluBackward, geluForward, swigluBackward, swigluForward } from '../ops/activation.ts';
import { ropeBackward, ropeForward } from '../ops/rope.ts';
import { copyRows } from '../ops/copy.ts';
import type { AttentionShape } from '../ops/shapes.ts';
import type { GpuModel, KVCache } from './gpuModel.ts';
import type { Linear, Norm } from './layout.ts';
import { blocksForward, type BackwardOps, type BlockActs, type ForwardOps } from './schedule.ts';

export interface NormStats {
  mean: GPUBuffer;
  rstd: GPUBuffer;
}

export type GpuBlockActs = BlockActs<GPUBuffer, NormStats>;

/** Adapted linear layers of a pass (keys `${layer}.${kind}`): the trainer's or a loaded adapter's. */
export interface AdapterHook {
  has(key: string): boolean;
  /** out (=, or += with accumulate) x·W0 + bias + the adapter's delta, for the pass's B·T tokens. */
  forward(out: GPUBuffer, x: GPUBuffer, lin: Linear, key: string, accumulate: boolean): void;
  /** dx (=, or +=) from dy; the adapter's parameter gradients accumulate. */
  backward(dx: GPUBuffer, dy: GPUBuffer, lin: Linear, key: string, accumulate: boolean): void;
  /** Block l's backward is recorded: what the adapters saved for it may be reused. */
  blockDone?(l: number): void;
}

export interface PassOptions {
  B: number;
  T: number;
  /** Keep every activation for a backward (training). */
  save?: boolean;
  /** Decoding one sequence (B = 1): keys and values land in the cache after what it holds. */
  cache?: KVCache | null;
  adapters?: AdapterHook | null;
}

/** The final hidden states of a pass and what its backward needs. */
export interface PassResult {
  /** The last block's output (the residual stream). */
  x: GPUBuffer;
  /** The final norm's output (what the LM head reads) and statistics; null when stopped early. */
  xf: GPUBuffer | null;
  nf: NormStats | null;
  blocks: GpuBlockActs[];
}

export class GpuPass implements ForwardOps<GPUBuffer, NormStats>, BackwardOps<GPUBuffer, NormStats> {
  readonly B: number;
  readonly T: number;
  readonly N: number;
  private readonly e: Engine;
  private readonly m: GpuModel;
  private readonly save: boolean;
  private readonly cache: KVCache | null;
  private readonly hook: AdapterHook | null;
  private readonly pos0: number;
  private readonly named = new Map<string, GPUBuffer>();
  /** Backward temporaries of the block being differentiated (recycled when it is done). */
  private temps: GPUBuffer[] = [];

  constructor(engine: Engine, model: GpuModel, o: PassOptions) {
    this.e = engine;
    this.m = model;
    this.B = o.B;
    this.T = o.T;
    this.N = o.B * o.T;
    this.save = !!o.save;
    this.cache = o.cache ?? null;
    this.hook = o.adapters ?? null;
    this.pos0 = this.cache ? this.cache.length : 0;
    if (this.cache && o.B !== 1) throw new RangeError('forward: a KV cache holds one sequence (B = 1)');
    if (this.cache && this.save) throw new RangeError('forward: a decoding pass (KV cache) keeps no activations');
  }

  /** A pass-owned buffer of n floats: fresh when saving, else one per name reused across blocks. */
  private buf(name: string, n: number): GPUBuffer {
    if (this.save) return this.e.scratch(name, n * 4);
    let b = this.named.get(name);
    if (!b || b.size < n * 4) this.named.set(name, (b = this.e.scratch(name, n * 4)));
    return b;
  }

  private W(name: string): GPUBuffer {
    return this.m.weight(name);
  }

  /** Checks the ids and embeds them (token + learned positions from pos0). */
  embed(ids: ArrayLike<number>): GPUBuffer {
    const s = this.m.spec, { B, T, N } = this;
    if (ids.length !== N) throw new RangeError(`forward: ${ids.length} ids for B·T = ${N}`);
    if (T < 1) throw new RangeError('forward: no tokens');
    if (this.pos0 + T > s.maxPositions) throw new RangeError(`forward: ${this.pos0 + T} positions exceed the model's ${s.maxPositions}`);
    if (N > this.m.plan.maxBatchTokens) throw new RangeError(`forward: ${B} x ${T} tokens exceed the ${this.m.plan.maxBatchTokens} this GPU's binding limit allows per pass`);
    for (let i = 0; i < N; i++) {
      const id = ids[i];
      if (!(Number.isInteger(id) && id >= 0 && id < s.vocabSize)) throw new RangeError(`forward: token id ${id} is outside the vocabulary [0, ${s.vocabSize})`);
    }
    if (this.cache && this.pos0 + T > this.cache.capacity) throw new RangeError(`forward: the KV cache holds ${this.cache.capacity} positions, ${this.pos0 + T} needed`);
    const x = this.e.scratch('x0', N * s.hidden * 4);
    const L = this.m.layout;
    embeddingForward(this.e, x, this.e.scratch('ids', Uint32Array.from(ids)), this.W(L.embed), L.pos ? this.W(L.pos) : null, { B, T, C: s.hidden, V: s.vocabSize, pos0: this.pos0 });
    return x;
  }

  /**
   * Embeddings, the blocks (up to `until`, default all) and the final norm: the schedule's
   * forward. With a cache, its length advances past these tokens.
   */
  run(ids: ArrayLike<number>, until?: number): PassResult {
    const L = this.m.layout;
    const { x, blocks } = blocksForward(L, this.embed(ids), this, { until, save: this.save });
    if (until !== undefined && until < L.blocks.length) return { x, xf: null, nf: null, blocks };
    const { y, stats } = this.norm(x, L.finalNorm, 'xf');
    if (this.cache) this.cache.length = this.pos0 + this.T;
    return { x, xf: y, nf: stats, blocks };
  }

  /** Logits (rows x V) of `rows` rows of xf into a buffer of the pass. */
  head(xf: GPUBuffer, rows: number, name = 'logits'): GPUBuffer {
    const s = this.m.spec;
    const out = this.e.scratch(name, rows * s.vocabSize * 4);
    matmulForward(this.e, out, xf, this.W(this.m.layout.head), null, { M: rows, N: s.vocabSize, K: s.hidden, transB: true });
    return out;
  }

  // ---- the forward ops

  norm(x: GPUBuffer, n: Norm, name: 'h1' | 'h2' | 'xf'): { y: GPUBuffer; stats: NormStats } {
    const s = this.m.spec, N = this.N;
    const y = this.buf(name, N * s.hidden);
    const stats = { mean: this.buf(`${name}.mean`, N), rstd: this.buf(`${name}.rstd`, N) };
    const shape = { N, C: s.hidden, eps: s.normEps };
    if (s.norm === 'layernorm') layernormForward(this.e, y, stats.mean, stats.rstd, x, this.W(n.w), this.W(n.b!), shape);
    else rmsnormForward(this.e, y, stats.rstd, x, this.W(n.w), shape);
    return { y, stats };
  }

  linear(x: GPUBuffer, lin: Linear, key: string, name: string, residual?: GPUBuffer): GPUBuffer {
    const N = this.N;
    let out: GPUBuffer;
    if (!residual) out = this.buf(name, N * lin.out);
    else if (!this.save) out = residual; // the residual stream, added in place
    else {
      out = this.buf(name, N * lin.out);
      this.e.copy(residual, out, N * lin.out * 4);
    }
    const acc = !!residual;
    if (this.hook?.has(key)) this.hook.forward(out, x, lin, key, acc);
    else matmulForward(this.e, out, x, this.W(lin.w), lin.b ? this.W(lin.b) : null, { M: N, N: lin.out, K: lin.in, transB: lin.outIn }, acc);
    return out;
  }

  private ropeShape(which: 'q' | 'k') {
    const s = this.m.spec;
    return { B: this.B, T: this.T, H: which === 'q' ? s.heads : s.kvHeads, D: s.headDim, theta: s.ropeTheta!, pos0: this.pos0 };
  }

  rope(x: GPUBuffer, which: 'q' | 'k'): GPUBuffer {
    const sh = this.ropeShape(which);
    const out = this.buf(which, this.N * sh.H * sh.D);
    ropeForward(this.e, out, x, this.m.ropeTables!, sh);
    return out;
  }

  /** Attention's view of q, k, v: fused rows of the qkv tensor (GPT-2) or three tensors. */
  private attShape(fused: boolean): AttentionShape {
    const s = this.m.spec, C = s.hidden, kvW = s.kvHeads * s.headDim;
    const base = { B: this.B, T: this.T, NH: s.heads, NKV: s.kvHeads, D: s.headDim };
    return fused
      ? { ...base, q: { stride: 3 * C, offset: 0 }, k: { stride: 3 * C, offset: C }, v: { stride: 3 * C, offset: 2 * C } }
      : { ...base, q: { stride: s.heads * s.headDim, offset: 0 }, k: { stride: kvW, offset: 0 }, v: { stride: kvW, offset: 0 } };
  }

  attention(q: GPUBuffer, k: GPUBuffer, v: GPUBuffer, fused: boolean, l: number): { y: GPUBuffer; lse: GPUBuffer } {
    const s = this.m.spec, N = this.N;
    let shape = this.attShape(fused);
    const c = this.cache;
    if (c) {
      // Append this pass's keys and values to the cache; attention reads the cached prefix.
      const kvW = s.kvHeads * s.headDim;
      const copy = (dst: GPUBuffer, src: GPUBuffer, at: { stride: number; offset: number }) =>
        copyRows(this.e, dst, src, { B: 1, T: this.T, width: kvW, inStride: at.stride, inOffset: at.offset, outRows: c.capacity, r0: this.pos0, outStride: kvW, outOffset: 0 });
      copy(c.k[l], k, shape.k);
      copy(c.v[l], v, shape.v);
      k = c.k[l];
      v = c.v[l];
      shape = { ...shape, k: { stride: kvW, offset: 0 }, v: { stride: kvW, offset: 0 }, kvT: c.capacity, pos0: this.pos0 };
    }
    const y = this.buf('att', N * s.heads * s.headDim);
    const lse = this.buf('lse', s.heads * N);
    attentionForward(this.e, y, lse, q, k, v, shape);
    return { y, lse };
  }

  gelu(u: GPUBuffer): GPUBuffer {
    const n = this.N * this.m.spec.intermediate;
    const g = this.buf('g', n);
    geluForward(this.e, g, u, n);
    return g;
  }

  swiglu(gate: GPUBuffer, up: GPUBuffer): GPUBuffer {
    const n = this.N * this.m.spec.intermediate;
    const a = this.buf('act', n);
    swigluForward(this.e, a, gate, up, n);
    return a;
  }

  // ---- the backward ops (training passes: every buffer is fresh)

  /** A backward temporary, recycled once its block is done. */
  private temp(name: string, n: number): GPUBuffer {
    const b = this.e.scratch(name, n * 4);
    this.temps.push(b);
    return b;
  }

  blockDone(a: GpuBlockActs, l: number): void {
    // Everything the block saved, and its backward's temporaries, is dead once its backward is
    // recorded: later blocks' temporaries reuse the memory within the same submission.
    const saved = [a.x, a.h1, a.n1.mean, a.n1.rstd, a.qkv, a.qr, a.kr, a.q, a.k, a.v, a.att, a.lse, a.xm, a.h2, a.n2.mean, a.n2.rstd, a.u, a.g, a.gate, a.up, a.act];
    this.e.recycle(...new Set(saved), ...this.temps);
    this.temps = [];
    this.hook?.blockDone?.(l);
  }

  normBackward(dx: GPUBuffer, dout: GPUBuffer, x: GPUBuffer, st: NormStats, n: Norm): void {
    const s = this.m.spec, shape = { N: this.N, C: s.hidden, eps: s.normEps };
    if (s.norm === 'layernorm') layernormBackward(this.e, dx, null, null, dout, x, this.W(n.w), st.mean, st.rstd, shape, true);
    else rmsnormBackward(this.e, dx, null, dout, x, this.W(n.w), st.rstd, shape, true);
  }

  linearBackward(dy: GPUBuffer, lin: Linear, key: string, name: string, into?: GPUBuffer): GPUBuffer {
    const dx = into ?? this.temp(name, this.N * lin.in);
    if (this.hook?.has(key)) this.hook.backward(dx, dy, lin, key, !!into);
    else matmulBackwardInput(this.e, dx, dy, this.W(lin.w), { M: this.N, N: lin.out, K: lin.in, transB: lin.outIn }, !!into);
    return dx;
  }

  geluBackward(dg: GPUBuffer, u: GPUBuffer): GPUBuffer {
    const n = this.N * this.m.spec.intermediate;
    const du = this.temp('du', n);
    geluBackward(this.e, du, dg, u, n);
    return du;
  }

  swigluBackward(da: GPUBuffer, gate: GPUBuffer, up: GPUBuffer): { dgate: GPUBuffer; dup: GPUBuffer } {
    const n = this.N * this.m.spec.intermediate;
    const dgate = this.temp('dgate', n), dup = this.temp('dup', n);
    swigluBackward(this.e, dgate, dup, da, gate, up, n);
    return { dgate, dup };
  }

  attentionBackward(datt: GPUBuffer, a: GpuBlockActs, fused: boolean): { dq: GPUBuffer; dk: GPUBuffer; dv: GPUBuffer } {
    const s = this.m.spec, N = this.N, shape = this.attShape(fused);
    if (fused) {
      // dq, dk and dv are column ranges of one gradient for the fused qkv tensor.
      const dqkv = this.temp('dqkv', N * 3 * s.hidden);
      attentionBackward(this.e, dqkv, dqkv, dqkv, datt, a.qkv!, a.qkv!, a.qkv!, a.att, a.lse, shape);
      return { dq: dqkv, dk: dqkv, dv: dqkv };
    }
    const dq = this.temp('dq', N * s.heads * s.headDim);
    const dk = this.temp('dk', N * s.kvHeads * s.headDim), dv = this.temp('dv', N * s.kvHeads * s.headDim);
    attentionBackward(this.e, dq, dk, dv, datt, a.q!, a.k!, a.v!, a.att, a.lse, shape);
    return { dq, dk, dv };
  }

  ropeBackward(d: GPUBuffer, which: 'q' | 'k'): GPUBuffer {
    const sh = this.ropeShape(which);
    const dx = this.temp(`d${which}r`, this.N * sh.H * sh.D);
    ropeBackward(this.e, dx, d, this.m.ropeTables!, sh);
    return dx;
  }
}
