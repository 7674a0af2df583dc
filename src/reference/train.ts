// Float64 reference of finetuning with adapters: the loss (masked next-token cross-entropy plus
// the router regularisers averaged over adapted layers and non-padding tokens) and the gradients of every adapter
// parameter, through the whole GPT-2 / Llama forward and backward, composed from the reference
// ops. The GPU trainer (src/train/trainer.ts) must reproduce its losses step for step.
import type { ModelSpec } from '../model/config.ts';
import { modelLayout, type Linear } from '../model/layout.ts';
import { blocksBackward, blocksForward } from '../model/schedule.ts';
import { embeddingForward } from './embedding.ts';
import { matmulBackwardInput, matmulForward } from './matmul.ts';
import { crossEntropyBackward } from './crossEntropy.ts';
import { adapterBackward, adapterDims, adapterForward, type AdapterForward, type AdapterSpec } from './adapter.ts';
import { adamwUpdate } from './optim.ts';
import { ReferencePass, type RefAdapterHook } from './pass.ts';
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
  return adaptedPass(spec, weights, cfg, params, batch, true) as LossAndGrads;
}

/**
 * Logits (T, V) of one sequence through the adapted model: the same forward as
 * referenceLossAndGrads, without the loss and backward. `s`: the sequence's intuition scores
 * (E values, or k with a mapper); null = zero scores. Layers without params run the base weights,
 * so an empty `params` map gives the base model's logits.
 */
export function referenceLogits(
  spec: ModelSpec, weights: Weights, cfg: AdapterConfig, params: Map<string, AdapterParams>, ids: number[], s: number[] | null = null,
): Float64Array {
  const batch: TrainBatch = { B: 1, T: ids.length, ids, targets: ids.map(() => -100), s };
  return (adaptedPass(spec, weights, cfg, params, batch, false) as { logits: Float64Array }).logits;
}

function adaptedPass(
  spec: ModelSpec, weights: Weights, cfg: AdapterConfig, params: Map<string, AdapterParams>, batch: TrainBatch, backward: boolean,
): LossAndGrads | { logits: Float64Array } {
  const L = modelLayout(spec);
  const { B, T } = batch;
  const N = B * T, C = spec.hidden, V = spec.vocabSize;
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
  const grads = new Map<string, AdapterParams>();
  let reg = 0;
  const W = (n: string) => pass.W(n);
  const hook: RefAdapterHook = {
    has: (key) => params.has(key),
    forward(x, lin, key) {
      const p = params.get(key)!;
      const s = layerSpec(lcfg, lin, N);
      const W0 = outIn(W(lin.w), lin);
      const fw = adapterForward(s, { x, W0, bias: lin.b ? W(lin.b) : null, A: p.A, B: p.B, Wr: p.Wr, wOmega: p.wOmega, wBeta: p.wBeta, s: sRows, M: p.M, mask });
      reg += (s.lambdaH ?? 0) * fw.entropy + (s.lambdaLB ?? 0) * fw.balance;
      saved.set(key, { fw, x, spec: s, W0 });
      return Float64Array.from(fw.y);
    },
    backward(dx, dy, _lin, key) {
      const sv = saved.get(key)!, p = params.get(key)!;
      const g = adapterBackward(sv.spec, { x: sv.x, W0: sv.W0, A: p.A, B: p.B, Wr: p.Wr, wOmega: p.wOmega, wBeta: p.wBeta, s: sRows, M: p.M, mask }, sv.fw, dy);
      for (let i = 0; i < dx.length; i++) dx[i] += g.dx[i];
      grads.set(key, { A: g.dA, B: g.dB, Wr: g.dWr, wOmega: p.wOmega ? Float64Array.from([g.dwOmega]) : null, wBeta: p.wBeta ? Float64Array.from([g.dwBeta]) : null, M: g.dM });
    },
  };
  const pass = new ReferencePass(spec, weights, B, T, hook);

  // ---- forward (the shared block schedule), saving what the backward needs
  const x0 = new Float64Array(N * C);
  embeddingForward(x0, batch.ids, W(L.embed), L.pos ? W(L.pos) : null, { B, T, C, V });
  const { x, blocks } = blocksForward(L, x0, pass, { save: true });
  const nf = pass.norm(x, L.finalNorm);
  const logits = new Float64Array(N * V);
  matmulForward(logits, nf.y, W(L.head), null, { M: N, N: V, K: C, transB: true });
  if (!backward) return { logits };
  const count = batch.targets.filter((t) => t >= 0).length;
  const dlogits = new Float64Array(N * V);
  const ce = crossEntropyBackward(dlogits, new Float64Array(N), logits, batch.targets, { N, V, count });

  // ---- backward: the schedule's mirror image
  const dxf = new Float64Array(N * C);
  matmulBackwardInput(dxf, dlogits, W(L.head), { M: N, N: V, K: C, transB: true });
  const dx = new Float64Array(N * C);
  pass.normBackward(dx, dxf, x, nf.stats, L.finalNorm);
  blocksBackward(L, blocks, dx, pass);
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
