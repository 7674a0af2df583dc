// Float64 reference forward of GPT-2 and Llama-family models, written with the float64
// reference ops (llm.c's train_gpt2.c, in TypeScript): the GPU model must match it, and it must
// match the PyTorch golden logits of scripts/make_test_models.py.
import type { ModelSpec } from '../model/config.ts';
import { modelLayout, type Linear } from '../model/layout.ts';
import { embeddingForward } from './embedding.ts';
import { layernormForward, rmsnormForward } from './norm.ts';
import { matmulForward } from './matmul.ts';
import { attentionForward } from './attention.ts';
import { geluForward, swigluForward } from './activation.ts';
import { ropeForward } from './rope.ts';
import { addForward } from './elementwise.ts';

export type Weights = Map<string, Float64Array>;

/** Logits (T, V) for one sequence of token ids. */
export function referenceForward(spec: ModelSpec, weights: Weights, ids: number[]): Float64Array {
  const L = modelLayout(spec);
  const xf = referenceHidden(spec, weights, ids, L.blocks.length);
  const head = weights.get(L.head);
  if (!head) throw new Error(`reference forward: missing weight ${L.head}`);
  const logits = new Float64Array(ids.length * spec.vocabSize);
  matmulForward(logits, xf, head, null, { M: ids.length, N: spec.vocabSize, K: spec.hidden, transB: true });
  return logits;
}

/**
 * Hidden states (T, C) of one sequence: the residual stream after block `layer` (0-based), or
 * the final normed states when `layer` is the block count (what the LM head reads).
 */
export function referenceHidden(spec: ModelSpec, weights: Weights, ids: number[], layer: number): Float64Array {
  const L = modelLayout(spec);
  if (!(Number.isInteger(layer) && layer >= 0 && layer <= L.blocks.length)) throw new RangeError(`reference hidden: layer must be in [0, ${L.blocks.length}], got ${layer}`);
  const W = (name: string): Float64Array => {
    const w = weights.get(name);
    if (!w) throw new Error(`reference forward: missing weight ${name}`);
    return w;
  };
  const T = ids.length, C = spec.hidden, D = spec.headDim, NH = spec.heads, NKV = spec.kvHeads;
  const F = (n: number) => new Float64Array(n);
  const lin = (out: Float64Array, x: Float64Array, l: Linear) =>
    matmulForward(out, x, W(l.w), l.b ? W(l.b) : null, { M: T, N: l.out, K: l.in, transB: l.outIn });
  const normed = (x: Float64Array, n: { w: string; b: string | null }) => {
    const out = F(T * C);
    const s = { N: T, C, eps: spec.normEps };
    if (spec.norm === 'layernorm') layernormForward(out, F(T), F(T), x, W(n.w), W(n.b!), s);
    else rmsnormForward(out, F(T), x, W(n.w), s);
    return out;
  };
  let x = F(T * C);
  embeddingForward(x, ids, W(L.embed), L.pos ? W(L.pos) : null, { B: 1, T, C, V: spec.vocabSize });
  const residual = (delta: Float64Array) => {
    const y = F(T * C);
    addForward(y, x, delta, T * C);
    x = y;
  };
  for (const [l, blk] of L.blocks.entries()) {
    if (l > layer) break;
    const h = normed(x, blk.norm1);
    const att = F(T * NH * D);
    if (blk.qkv) {
      const qkv = F(T * 3 * C);
      lin(qkv, h, blk.qkv);
      attentionForward(att, F(NH * T), qkv, qkv, qkv, { B: 1, T, NH, NKV, D, q: { stride: 3 * C, offset: 0 }, k: { stride: 3 * C, offset: C }, v: { stride: 3 * C, offset: 2 * C } });
    } else {
      const qr = F(T * NH * D), kr = F(T * NKV * D), v = F(T * NKV * D), q = F(T * NH * D), k = F(T * NKV * D);
      lin(qr, h, blk.q!);
      lin(kr, h, blk.k!);
      lin(v, h, blk.v!);
      ropeForward(q, qr, { B: 1, T, H: NH, D, theta: spec.ropeTheta! });
      ropeForward(k, kr, { B: 1, T, H: NKV, D, theta: spec.ropeTheta! });
      attentionForward(att, F(NH * T), q, k, v, { B: 1, T, NH, NKV, D, q: { stride: NH * D, offset: 0 }, k: { stride: NKV * D, offset: 0 }, v: { stride: NKV * D, offset: 0 } });
    }
    const o = F(T * C);
    lin(o, att, blk.o);
    residual(o);
    const h2 = normed(x, blk.norm2);
    const m = F(T * C);
    const I = spec.intermediate;
    if (blk.fc) {
      const u = F(T * I), g = F(T * I);
      lin(u, h2, blk.fc);
      geluForward(g, u, T * I);
      lin(m, g, blk.proj!);
    } else {
      const gt = F(T * I), up = F(T * I), a = F(T * I);
      lin(gt, h2, blk.gate!);
      lin(up, h2, blk.up!);
      swigluForward(a, gt, up, T * I);
      lin(m, a, blk.down!);
    }
    residual(m);
  }
  return layer < L.blocks.length ? x : normed(x, L.finalNorm);
}
