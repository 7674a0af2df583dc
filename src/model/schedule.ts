// The transformer block schedule, written once: which op runs on which tensor, in which order,
// forward and backward, for GPT-2 and the Llama family. Every side supplies the ops on its own
// tensors: the GPU (src/model/forward.ts: inference with a KV cache, evaluation and training
// with adapters) and the float64 references (src/reference/model.ts, src/reference/train.ts),
// which stay independent checks of the kernels but walk this same schedule. llm.c's
// gpt2_forward / gpt2_backward, with the saved activations named once in BlockActs.
import type { BlockLayout, Linear, ModelLayout, Norm } from './layout.ts';

/**
 * What one block's forward keeps for its backward (llm.c's ActivationTensors, per block). T is a
 * side's tensor, S its saved norm statistics (mean and rstd per row).
 */
export interface BlockActs<T, S> {
  /** The block's input (the residual stream). */
  x: T;
  /** norm1(x) and its statistics. */
  h1: T;
  n1: S;
  /** GPT-2: the fused q|k|v projection, read in place by attention. */
  qkv: T | null;
  /** Llama family: q and k before RoPE (qr, kr), after RoPE (q, k), and v. */
  qr: T | null;
  kr: T | null;
  q: T | null;
  k: T | null;
  v: T | null;
  /** Attention output (heads merged) and its log-sum-exp per row. */
  att: T;
  lse: T;
  /** x + attention projection (the residual after attention). */
  xm: T;
  /** norm2(xm) and its statistics. */
  h2: T;
  n2: S;
  /** GPT-2 MLP: fc output, GELU output. */
  u: T | null;
  g: T | null;
  /** Llama MLP: gate and up projections, SwiGLU output. */
  gate: T | null;
  up: T | null;
  act: T | null;
  /** The block's output: xm + MLP. */
  out: T;
}

export interface ForwardOps<T, S> {
  /** norm(x) into a new tensor named `name`, with its statistics. */
  norm(x: T, n: Norm, name: 'h1' | 'h2' | 'xf'): { y: T; stats: S };
  /**
   * x·W (+ bias, + the adapter at `key` when one is attached) into a new tensor named `name`;
   * with `residual`, residual + x·W (a side that saves nothing may add in place).
   */
  linear(x: T, lin: Linear, key: string, name: string, residual?: T): T;
  /** RoPE of q (NH heads) or k (NKV heads). */
  rope(x: T, which: 'q' | 'k'): T;
  /** Causal attention of block l: fused (GPT-2, q = k = v = the qkv tensor) or separate. */
  attention(q: T, k: T, v: T, fused: boolean, l: number): { y: T; lse: T };
  gelu(u: T): T;
  swiglu(gate: T, up: T): T;
}

export interface BackwardOps<T, S> {
  /** dx += ∂norm/∂x · dout (the residual stream's gradient accumulates). */
  normBackward(dx: T, dout: T, x: T, stats: S, n: Norm): void;
  /**
   * The gradient of the linear's input from dy (the adapter's parameter gradients accumulate):
   * a new tensor named `name`, or added into `into`.
   */
  linearBackward(dy: T, lin: Linear, key: string, name: string, into?: T): T;
  geluBackward(dg: T, u: T): T;
  swigluBackward(da: T, gate: T, up: T): { dgate: T; dup: T };
  /** Fused (GPT-2): one gradient for the qkv tensor (dq = dk = dv). */
  attentionBackward(datt: T, a: BlockActs<T, S>, fused: boolean, l: number): { dq: T; dk: T; dv: T };
  ropeBackward(d: T, which: 'q' | 'k'): T;
  /** Block l's backward is recorded: its activations and temporaries are dead (a GPU side may reuse them). */
  blockDone?(a: BlockActs<T, S>, l: number): void;
}

/** Adapter keys are `${layer}.${kind}` (train/config.ts adaptedLayers). */
const key = (l: number, kind: string) => `${l}.${kind}`;

/** One block's forward from its input x. */
export function blockForward<T, S>(blk: BlockLayout, l: number, x: T, ops: ForwardOps<T, S>): BlockActs<T, S> {
  const n1 = ops.norm(x, blk.norm1, 'h1');
  const a: BlockActs<T, S> = {
    x, h1: n1.y, n1: n1.stats, qkv: null, qr: null, kr: null, q: null, k: null, v: null,
    att: null!, lse: null!, xm: null!, h2: null!, n2: null!, u: null, g: null, gate: null, up: null, act: null, out: null!,
  };
  if (blk.qkv) {
    a.qkv = ops.linear(a.h1, blk.qkv, key(l, 'qkv'), 'qkv');
    const at = ops.attention(a.qkv, a.qkv, a.qkv, true, l);
    a.att = at.y;
    a.lse = at.lse;
  } else {
    a.qr = ops.linear(a.h1, blk.q!, key(l, 'q'), 'qr');
    a.kr = ops.linear(a.h1, blk.k!, key(l, 'k'), 'kr');
    a.v = ops.linear(a.h1, blk.v!, key(l, 'v'), 'v');
    a.q = ops.rope(a.qr, 'q');
    a.k = ops.rope(a.kr, 'k');
    const at = ops.attention(a.q, a.k, a.v, false, l);
    a.att = at.y;
    a.lse = at.lse;
  }
  a.xm = ops.linear(a.att, blk.o, key(l, 'o'), 'xm', x);
  const n2 = ops.norm(a.xm, blk.norm2, 'h2');
  a.h2 = n2.y;
  a.n2 = n2.stats;
  if (blk.fc) {
    a.u = ops.linear(a.h2, blk.fc, key(l, 'fc'), 'u');
    a.g = ops.gelu(a.u);
    a.out = ops.linear(a.g, blk.proj!, key(l, 'proj'), 'out', a.xm);
  } else {
    a.gate = ops.linear(a.h2, blk.gate!, key(l, 'gate'), 'gate');
    a.up = ops.linear(a.h2, blk.up!, key(l, 'up'), 'up');
    a.act = ops.swiglu(a.gate, a.up);
    a.out = ops.linear(a.act, blk.down!, key(l, 'down'), 'out', a.xm);
  }
  return a;
}

/**
 * The blocks' forward from the embeddings x: blocks 0..until (default all), returning the last
 * output and, with `save`, every block's activations.
 */
export function blocksForward<T, S>(layout: ModelLayout, x: T, ops: ForwardOps<T, S>, opts: { until?: number; save?: boolean } = {}): { x: T; blocks: Array<BlockActs<T, S>> } {
  const saved: Array<BlockActs<T, S>> = [];
  for (const [l, blk] of layout.blocks.entries()) {
    if (opts.until !== undefined && l > opts.until) break;
    const a = blockForward(blk, l, x, ops);
    if (opts.save) saved.push(a);
    x = a.out;
  }
  return { x, blocks: saved };
}

/** One block's backward: dx holds ∂L/∂out on entry and ∂L/∂x on return (updated in place). */
export function blockBackward<T, S>(blk: BlockLayout, l: number, a: BlockActs<T, S>, dx: T, ops: BackwardOps<T, S>): void {
  // MLP: dx flows on unchanged (the residual) and into the MLP's output projection.
  let dh2: T;
  if (blk.fc) {
    const dg = ops.linearBackward(dx, blk.proj!, key(l, 'proj'), 'dg');
    const du = ops.geluBackward(dg, a.u!);
    dh2 = ops.linearBackward(du, blk.fc, key(l, 'fc'), 'dh2');
  } else {
    const da = ops.linearBackward(dx, blk.down!, key(l, 'down'), 'da');
    const { dgate, dup } = ops.swigluBackward(da, a.gate!, a.up!);
    dh2 = ops.linearBackward(dgate, blk.gate!, key(l, 'gate'), 'dh2');
    ops.linearBackward(dup, blk.up!, key(l, 'up'), 'dh2', dh2);
  }
  ops.normBackward(dx, dh2, a.xm, a.n2, blk.norm2);
  // Attention.
  const datt = ops.linearBackward(dx, blk.o, key(l, 'o'), 'datt');
  let dh1: T;
  if (blk.qkv) {
    const { dq } = ops.attentionBackward(datt, a, true, l);
    dh1 = ops.linearBackward(dq, blk.qkv, key(l, 'qkv'), 'dh1');
  } else {
    const { dq, dk, dv } = ops.attentionBackward(datt, a, false, l);
    const dqr = ops.ropeBackward(dq, 'q');
    const dkr = ops.ropeBackward(dk, 'k');
    dh1 = ops.linearBackward(dqr, blk.q!, key(l, 'q'), 'dh1');
    ops.linearBackward(dkr, blk.k!, key(l, 'k'), 'dh1', dh1);
    ops.linearBackward(dv, blk.v!, key(l, 'v'), 'dh1', dh1);
  }
  ops.normBackward(dx, dh1, a.x, a.n1, blk.norm1);
}

/** Every block's backward, last to first; dx: ∂L/∂(last block's output) in, ∂L/∂embeddings out. */
export function blocksBackward<T, S>(layout: ModelLayout, blocks: Array<BlockActs<T, S>>, dx: T, ops: BackwardOps<T, S>): void {
  for (let l = blocks.length - 1; l >= 0; l--) {
    blockBackward(layout.blocks[l], l, blocks[l], dx, ops);
    ops.blockDone?.(blocks[l], l);
  }
}
