// Float64 reference of finetuning with adapters: the loss (masked next-token cross-entropy plus
// the router regularisers averaged over adapted layers and non-padding tokens) and the gradients of every adapter
// parameter, through the whole GPT-2 / Llama forward and backward, composed from the reference
// ops. The GPU trainer (src/train/trainer.ts) must reproduce its losses step for step.
import type { ModelSpec } from '../model/config.ts';
import { modelLayout, type Linear } from '../model/layout.ts';
import { embeddingForward } from './embedding.ts';
import { layernormBackward, layernormForward, rmsnormBackward, rmsnormForward } from './norm.ts';
import { matmulBackwardInput, matmulForward } from './matmul.ts';
import { attentionBackward, attentionForward, type AttentionShape } from './attention.ts';
import { geluBackward, geluForward, swigluBackward, swigluForward } from './activation.ts';
import { ropeBackward, ropeForward } from './rope.ts';
import { crossEntropyBackward } from './crossEntropy.ts';
import { adapterBackward, adapterDims, adapterForward, type AdapterForward, type AdapterSpec } from './adapter.ts';
import { adamwUpdate } from './optim.ts';
import type { Weights } from './model.ts';
import { PARAM_FIELDS, type AdapterParams } from '../adapters/params.ts';
export { PARAM_FIELDS, type AdapterParams };
import type { ModuleKind, AdapterConfig, TrainBatch, TrainHyper } from '../train/config.ts';
import { MODULE_KINDS, adaptedLayers, layerSpec, withDefaults, batchMask } from '../train/config.ts';
export type { ModuleKind, AdapterConfig, TrainBatch, TrainHyper };
export { MODULE_KINDS, adaptedLayers, layerSpec, withDefaults, batchMask };


/** W0 as (out, in), the adapter reference's layout (GPT-2 stores Conv1D weights as (in, out)). */
function outIn(w: Float64Array, lin: Linear): Float64Array {
  if (lin.outIn) return w;
  const t = new Float64Array(w.length);
  for (let i = 0; i < lin.in; i++) for (let o = 0; o < lin.out; o++) t[o * lin.in + i] = w[i * lin.out + o];
  return t;
}

export interface LossAndGrads {
  /** Cross-entropy mean over unmasked tokens plus the regularisers. */
  loss: number;
  ce: number;
  grads: Map<string, AdapterParams>;
}

export function referenceLossAndGrads(spec: ModelSpec, weights: Weights, cfg: AdapterConfig, params: Map<string, AdapterParams>, batch: TrainBatch): LossAndGrads {
  const L = modelLayout(spec);
  const W = (n: string) => weights.get(n)!;
  const { B, T } = batch;
  const N = B * T, C = spec.hidden, D = spec.headDim, NH = spec.heads, NKV = spec.kvHeads, I = spec.intermediate;
  const F = (n: number) => new Float64Array(n);
  const layers = adaptedLayers(spec, cfg);
  const nAdapted = layers.length;
  // Width of the intuition scores: E, or the cluster count k with a mapper.
  const K = adapterDims(layerSpec(cfg, layers[0].lin, 1)).k;
  const mask = batchMask(batch);
  if (K > 0 && batch.s && batch.s.length !== B * K) throw new Error(`train batch: intuition scores must be B x ${K} = ${B * K} values, got ${batch.s.length}`);
  const sRows = batch.s && K > 0 ? Float64Array.from({ length: N * K }, (_, i) => batch.s![Math.floor(Math.floor(i / K) / T) * K + (i % K)]) : null;
  // Regularisers are averaged over adapted layers (and, inside each layer, over the real tokens).
  const lcfg = { ...cfg, lambdaH: (cfg.lambdaH ?? 0) / nAdapted, lambdaLB: (cfg.lambdaLB ?? 0) / nAdapted };
  const saved = new Map<string, { fw: AdapterForward; x: Float64Array; spec: AdapterSpec; W0: Float64Array }>();
  let reg = 0;
  const lin = (out: Float64Array, x: Float64Array, l: Linear, key: string) => {
    const p = params.get(key);
    if (!p) return matmulForward(out, x, W(l.w), l.b ? W(l.b) : null, { M: N, N: l.out, K: l.in, transB: l.outIn });
    const s = layerSpec(lcfg, l, N);
    const W0 = outIn(W(l.w), l);
    const fw = adapterForward(s, { x, W0, bias: l.b ? W(l.b) : null, A: p.A, B: p.B, Wr: p.Wr, wOmega: p.wOmega, wBeta: p.wBeta, s: sRows, M: p.M, mask });
    out.set(fw.y);
    reg += (s.lambdaH ?? 0) * fw.entropy + (s.lambdaLB ?? 0) * fw.balance;
    saved.set(key, { fw, x, spec: s, W0 });
  };
  const grads = new Map<string, AdapterParams>();
  const linBack = (dx: Float64Array, dy: Float64Array, l: Linear, key: string) => {
    const sv = saved.get(key);
    if (!sv) return matmulBackwardInput(dx, dy, W(l.w), { M: N, N: l.out, K: l.in, transB: l.outIn }, true);
    const p = params.get(key)!;
    const g = adapterBackward(sv.spec, { x: sv.x, W0: sv.W0, A: p.A, B: p.B, Wr: p.Wr, wOmega: p.wOmega, wBeta: p.wBeta, s: sRows, M: p.M, mask }, sv.fw, dy);
    for (let i = 0; i < dx.length; i++) dx[i] += g.dx[i];
    grads.set(key, { A: g.dA, B: g.dB, Wr: g.dWr, wOmega: p.wOmega ? Float64Array.from([g.dwOmega]) : null, wBeta: p.wBeta ? Float64Array.from([g.dwBeta]) : null, M: g.dM });
  };
  const ns = { N, C, eps: spec.normEps };
  const normF = (out: Float64Array, mean: Float64Array, rstd: Float64Array, x: Float64Array, n: { w: string; b: string | null }) =>
    spec.norm === 'layernorm' ? layernormForward(out, mean, rstd, x, W(n.w), W(n.b!), ns) : rmsnormForward(out, rstd, x, W(n.w), ns);
  const normB = (dx: Float64Array, dout: Float64Array, x: Float64Array, mean: Float64Array, rstd: Float64Array, n: { w: string; b: string | null }) =>
    spec.norm === 'layernorm'
      ? layernormBackward(dx, F(C), F(C), dout, x, W(n.w), mean, rstd, ns, true)
      : rmsnormBackward(dx, F(C), dout, x, W(n.w), rstd, ns, true);

  // ---- forward, saving what the backward needs
  const x0 = F(N * C);
  embeddingForward(x0, batch.ids, W(L.embed), L.pos ? W(L.pos) : null, { B, T, C, V: spec.vocabSize });
  type Saved = Record<string, Float64Array>;
  const acts: Array<{ s: Saved; attShape: AttentionShape }> = [];
  let x = x0;
  for (const [l, blk] of L.blocks.entries()) {
    const s: Saved = { x } as Saved;
    s.h1 = F(N * C); s.m1 = F(N); s.r1 = F(N);
    normF(s.h1, s.m1, s.r1, x, blk.norm1);
    let attShape: AttentionShape;
    if (blk.qkv) {
      s.qkv = F(N * 3 * C);
      lin(s.qkv, s.h1, blk.qkv, `${l}.qkv`);
      attShape = { B, T, NH, NKV, D, q: { stride: 3 * C, offset: 0 }, k: { stride: 3 * C, offset: C }, v: { stride: 3 * C, offset: 2 * C } };
      s.att = F(N * C); s.lse = F(B * NH * T);
      attentionForward(s.att, s.lse, s.qkv, s.qkv, s.qkv, attShape);
    } else {
      s.qr = F(N * NH * D); s.kr = F(N * NKV * D); s.v = F(N * NKV * D); s.q = F(N * NH * D); s.k = F(N * NKV * D);
      lin(s.qr, s.h1, blk.q!, `${l}.q`);
      lin(s.kr, s.h1, blk.k!, `${l}.k`);
      lin(s.v, s.h1, blk.v!, `${l}.v`);
      ropeForward(s.q, s.qr, { B, T, H: NH, D, theta: spec.ropeTheta! });
      ropeForward(s.k, s.kr, { B, T, H: NKV, D, theta: spec.ropeTheta! });
      attShape = { B, T, NH, NKV, D, q: { stride: NH * D, offset: 0 }, k: { stride: NKV * D, offset: 0 }, v: { stride: NKV * D, offset: 0 } };
      s.att = F(N * NH * D); s.lse = F(B * NH * T);
      attentionForward(s.att, s.lse, s.q, s.k, s.v, attShape);
    }
    const o = F(N * C);
    lin(o, s.att, blk.o, `${l}.o`);
    s.xm = F(N * C);
    for (let i = 0; i < N * C; i++) s.xm[i] = x[i] + o[i];
    s.h2 = F(N * C); s.m2 = F(N); s.r2 = F(N);
    normF(s.h2, s.m2, s.r2, s.xm, blk.norm2);
    const mo = F(N * C);
    if (blk.fc) {
      s.u = F(N * I); s.g = F(N * I);
      lin(s.u, s.h2, blk.fc, `${l}.fc`);
      geluForward(s.g, s.u, N * I);
      lin(mo, s.g, blk.proj!, `${l}.proj`);
    } else {
      s.gt = F(N * I); s.up = F(N * I); s.a = F(N * I);
      lin(s.gt, s.h2, blk.gate!, `${l}.gate`);
      lin(s.up, s.h2, blk.up!, `${l}.up`);
      swigluForward(s.a, s.gt, s.up, N * I);
      lin(mo, s.a, blk.down!, `${l}.down`);
    }
    const xn = F(N * C);
    for (let i = 0; i < N * C; i++) xn[i] = s.xm[i] + mo[i];
    acts.push({ s, attShape });
    x = xn;
  }
  const xf = F(N * C), mf = F(N), rf = F(N);
  normF(xf, mf, rf, x, L.finalNorm);
  const logits = F(N * spec.vocabSize);
  matmulForward(logits, xf, W(L.head), null, { M: N, N: spec.vocabSize, K: C, transB: true });
  const count = batch.targets.filter((t) => t >= 0).length;
  const dlogits = F(N * spec.vocabSize);
  const ce = crossEntropyBackward(dlogits, F(N), logits, batch.targets, { N, V: spec.vocabSize, count });

  // ---- backward: the mirror image
  const dxf = F(N * C);
  matmulBackwardInput(dxf, dlogits, W(L.head), { M: N, N: spec.vocabSize, K: C, transB: true });
  const dx = F(N * C);
  normB(dx, dxf, x, mf, rf, L.finalNorm);
  for (let l = L.blocks.length - 1; l >= 0; l--) {
    const blk = L.blocks[l];
    const { s, attShape } = acts[l];
    // MLP: dx flows on unchanged (residual) and into the MLP output.
    const dh2 = F(N * C);
    if (blk.fc) {
      const dg = F(N * I), du = F(N * I);
      linBack(dg, dx, blk.proj!, `${l}.proj`);
      geluBackward(du, dg, s.u, N * I);
      linBack(dh2, du, blk.fc, `${l}.fc`);
    } else {
      const da = F(N * I), dgt = F(N * I), dup = F(N * I);
      linBack(da, dx, blk.down!, `${l}.down`);
      swigluBackward(dgt, dup, da, s.gt, s.up, N * I);
      linBack(dh2, dgt, blk.gate!, `${l}.gate`);
      linBack(dh2, dup, blk.up!, `${l}.up`);
    }
    normB(dx, dh2, s.xm, s.m2, s.r2, blk.norm2);
    // Attention.
    const datt = F(s.att.length);
    linBack(datt, dx, blk.o, `${l}.o`);
    const dh1 = F(N * C);
    if (blk.qkv) {
      const dqkv = F(N * 3 * C);
      attentionBackward(dqkv, dqkv, dqkv, datt, s.qkv, s.qkv, s.qkv, s.att, s.lse, attShape);
      linBack(dh1, dqkv, blk.qkv, `${l}.qkv`);
    } else {
      const dq = F(s.q.length), dk = F(s.k.length), dv = F(s.v.length), dqr = F(s.q.length), dkr = F(s.k.length);
      attentionBackward(dq, dk, dv, datt, s.q, s.k, s.v, s.att, s.lse, attShape);
      ropeBackward(dqr, dq, { B, T, H: NH, D, theta: spec.ropeTheta! });
      ropeBackward(dkr, dk, { B, T, H: NKV, D, theta: spec.ropeTheta! });
      linBack(dh1, dqr, blk.q!, `${l}.q`);
      linBack(dh1, dkr, blk.k!, `${l}.k`);
      linBack(dh1, dv, blk.v!, `${l}.v`);
    }
    normB(dx, dh1, s.x, s.m1, s.r1, blk.norm1);
  }
  return { loss: ce + reg, ce, grads };
}

/** One optimiser step on every adapter parameter (global-norm clip, then AdamW); returns the loss. */
export function referenceTrainStep(
  spec: ModelSpec, weights: Weights, cfg: AdapterConfig, params: Map<string, AdapterParams>,
  state: Map<string, { m: AdapterParams; v: AdapterParams }>, batch: TrainBatch, hyper: TrainHyper, step: number,
): number {
  const { loss, grads } = referenceLossAndGrads(spec, weights, cfg, params, batch);
  const fields = PARAM_FIELDS;
  let sq = 0;
  for (const g of grads.values()) for (const f of fields) for (const v of g[f] ?? []) sq += v * v;
  const norm = Float64Array.from([Math.sqrt(sq)]);
  for (const [key, p] of params) {
    const g = grads.get(key)!;
    const st = state.get(key)!;
    for (const f of fields) {
      const arr = p[f];
      if (!arr) continue;
      adamwUpdate(arr, st.m[f]!, st.v[f]!, g[f]!, norm, { ...hyper, step }, arr.length);
    }
  }
  return loss;
}
