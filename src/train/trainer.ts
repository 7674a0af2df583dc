// Finetuning on the GPU: adapters on a loaded model's linear layers, the whole forward and
// backward pass of a batch as one submission (the mirror of src/reference/train.ts), the global
// gradient norm, and AdamW on the adapter parameters only; the base model stays frozen.
import type { Engine } from '../gpu/engine.ts';
import type { GpuModel } from '../model/gpuModel.ts';
import type { Linear, Norm } from '../model/layout.ts';
import { matmulBackwardInput, matmulForward } from '../ops/matmul.ts';
import { embeddingForward } from '../ops/embedding.ts';
import { layernormBackward, layernormForward, rmsnormBackward, rmsnormForward } from '../ops/norm.ts';
import { attentionBackward, attentionForward } from '../ops/attention.ts';
import { geluBackward, geluForward, swigluBackward, swigluForward } from '../ops/activation.ts';
import { ropeBackward, ropeForward } from '../ops/rope.ts';
import { crossEntropyBackward } from '../ops/crossEntropy.ts';
import { reduceSum, type TensorRef } from '../ops/reduce.ts';
import { adamwUpdate } from '../ops/optim.ts';
import { adapterBackward, adapterForward, adapterSavedSizes, type AdapterInputs, type AdapterSaved } from '../ops/adapter.ts';
import { adapterDims, adapterInit, type AdapterSpec } from '../reference/adapter.ts';
import { adaptedLayers, batchMask, layerSpec, type AdapterConfig, type AdapterParams, type TrainBatch, type TrainHyper } from '../reference/train.ts';
import type { AttentionShape } from '../reference/attention.ts';
import { rng } from '../reference/gradcheck.ts';

interface Tensor {
  value: GPUBuffer;
  grad: GPUBuffer;
  m: GPUBuffer;
  v: GPUBuffer;
  n: number;
}

interface AdaptedLayer {
  key: string;
  lin: Linear;
  /** Router statistics of the last step (adapter_route_stats layout), kept for readback. */
  stats: GPUBuffer | null;
  statsGroups: number;
  /** [W_r; A] stacked, B, and the two gates. */
  WrA: Tensor;
  B: Tensor;
  gates: Tensor | null;
  /** The intuition mapper (E, k) when the config's cluster count k ≠ E (`.rank1_flex_mapper.weight`). */
  M: Tensor | null;
}

/**
 * Initial adapter parameters as METHOD.md fixes them, from a seed (the same on every side). One
 * generator walks the adapted layers in adaptedLayers order; each layer draws A, then its
 * mapper M (k ≠ E only; see adapterInit).
 */
export function initAdapterParams(model: { spec: GpuModel['spec'] }, cfg: AdapterConfig, seed: number): Map<string, AdapterParams> {
  const r = rng(seed);
  const out = new Map<string, AdapterParams>();
  for (const { key, lin } of adaptedLayers(model.spec, cfg)) {
    const init = adapterInit(layerSpec(cfg, lin, 1), r);
    const f32 = (a: Float64Array | null) => (a ? Float64Array.from(Float32Array.from(a)) : null);
    out.set(key, { A: f32(init.A)!, B: f32(init.B)!, Wr: f32(init.Wr), wOmega: f32(init.wOmega), wBeta: f32(init.wBeta), M: f32(init.M) });
  }
  return out;
}

export class GpuTrainer {
  private readonly e: Engine;
  private readonly model: GpuModel;
  readonly cfg: AdapterConfig;
  private readonly layers = new Map<string, AdaptedLayer>();
  private readonly E: number;
  /** Width of the intuition scores per sequence: E, or the cluster count k with a mapper. */
  private readonly K: number;
  private stepCount = 0;
  private history: GPUBuffer | null = null;
  private historyCapacity = 0;
  /** Outgrown history buffers, destroyed after the next readback. */
  private readonly retired: GPUBuffer[] = [];

  constructor(engine: Engine, model: GpuModel, cfg: AdapterConfig, init: Map<string, AdapterParams>) {
    this.e = engine;
    this.model = model;
    this.cfg = cfg;
    const tensor = (label: string, data: Float64Array | number[]): Tensor => {
      const f = Float32Array.from(data);
      return {
        value: engine.createBuffer(label, f), grad: engine.createBuffer(`${label}.grad`, f.byteLength),
        m: engine.createBuffer(`${label}.m`, f.byteLength), v: engine.createBuffer(`${label}.v`, f.byteLength), n: f.length,
      };
    };
    const list = adaptedLayers(model.spec, cfg);
    const dims = adapterDims(layerSpec(cfg, list[0].lin, 1));
    this.E = dims.E;
    this.K = dims.k;
    for (const { key, lin } of list) {
      const p = init.get(key);
      if (!p) throw new Error(`GpuTrainer: no initial parameters for adapted layer ${key}`);
      if (dims.mapper !== !!p.M || (p.M && p.M.length !== dims.E * dims.k)) throw new Error(`GpuTrainer: layer ${key} needs ${dims.mapper ? `a mapper M of ${dims.E} x ${dims.k}` : 'no mapper (k = E)'}`);
      const stacked = new Float64Array((p.Wr?.length ?? 0) + p.A.length);
      if (p.Wr) stacked.set(p.Wr);
      stacked.set(p.A, p.Wr?.length ?? 0);
      this.layers.set(key, {
        key, lin, stats: null, statsGroups: 0, WrA: tensor(`${key}.WrA`, stacked), B: tensor(`${key}.B`, p.B),
        gates: p.wOmega ? tensor(`${key}.gates`, [p.wOmega[0], p.wBeta![0]]) : null,
        M: p.M ? tensor(`${key}.rank1_flex_mapper`, p.M) : null,
      });
    }
  }

  private tensors(): Tensor[] {
    return [...this.layers.values()].flatMap((l) => [l.WrA, l.B, ...(l.gates ? [l.gates] : []), ...(l.M ? [l.M] : [])]);
  }

  /** Floats per step in the loss history: the cross-entropy, then (entropy, balance) per adapted layer. */
  private get historyWidth(): number {
    return 1 + 2 * this.layers.size;
  }

  /** The step's row in the GPU-side loss history, growing the buffer (in stream) when full. */
  private historyRow(step: number): number {
    const rowBytes = this.historyWidth * 4;
    if (!this.history || step > this.historyCapacity) {
      const capacity = Math.max(64, this.historyCapacity * 2);
      const next = this.e.createBuffer('train.lossHistory', capacity * rowBytes);
      if (this.history) {
        this.e.copy(this.history, next, this.historyCapacity * rowBytes);
        this.retired.push(this.history);
      }
      this.history = next;
      this.historyCapacity = capacity;
    }
    return (step - 1) * this.historyWidth;
  }

  /**
   * One optimiser step on a batch: forward, masked cross-entropy, backward into the adapter
   * gradients, global-norm clip and AdamW, all in one submission. Nothing is read back: the
   * loss and the regulariser values land in a GPU-side history that `losses()` reads in one
   * go. Resolves when the GPU has finished the step (so its temporaries return to the pool).
   */
  async step(batch: TrainBatch, hyper: TrainHyper): Promise<void> {
    const e = this.e, m = this.model, s = m.spec, L = m.layout;
    const { B, T } = batch;
    const N = B * T, C = s.hidden, D = s.headDim, NH = s.heads, NKV = s.kvHeads, I = s.intermediate, V = s.vocabSize;
    if (batch.ids.length !== N || batch.targets.length !== N) throw new Error(`train step: ids and targets must hold B·T = ${N} tokens`);
    if (T > s.maxPositions) throw new Error(`train step: sequences of ${T} tokens exceed the model's ${s.maxPositions} positions`);
    const count = batch.targets.filter((t) => t >= 0).length;
    if (!count) throw new Error('train step: every target is masked; nothing to learn from');
    const mask = batchMask(batch);
    if (this.E > 0 && adapterDims(layerSpec(this.cfg, [...this.layers.values()][0].lin, 1)).gated) {
      if (!batch.s || batch.s.length !== B * this.K) throw new Error(`train step: intuition scores must be B x ${this.K === this.E ? 'E' : 'k'} = ${B} x ${this.K}`);
    }
    this.stepCount++;
    const W = (n: string) => m.weight(n);
    const buf = (label: string, n: number) => e.scratch(label, n * 4);
    for (const t of this.tensors()) e.clear(t.grad);

    const ids = e.scratch('train.ids', Uint32Array.from(batch.ids));
    const targets = e.scratch('train.targets', Int32Array.from(batch.targets));
    const groups = 1 + (batch.task ? Math.max(...batch.task) + 1 : 0);
    if (batch.task && (batch.task.length !== B || batch.task.some((t) => !(Number.isInteger(t) && t >= 0)))) throw new Error(`train step: task labels must be B = ${B} non-negative integers`);
    const taskRows = batch.task ? e.scratch('train.task', Uint32Array.from({ length: N }, (_, i) => batch.task![Math.floor(i / T)])) : null;
    // Padding tokens (mask 0) count in no router statistic and get no regulariser gradient.
    const maskRows = mask ? e.scratch('train.mask', Uint32Array.from(mask)) : null;
    const K = this.K;
    const sRows = batch.s && K > 0 ? e.scratch('train.s', Float32Array.from({ length: N * K }, (_, i) => batch.s![Math.floor(Math.floor(i / K) / T) * K + (i % K)])) : null;
    const nAdapted = this.layers.size;
    const lcfg = { ...this.cfg, lambdaH: (this.cfg.lambdaH ?? 0) / nAdapted, lambdaLB: (this.cfg.lambdaLB ?? 0) / nAdapted };
    const saved = new Map<string, { saved: AdapterSaved; inputs: AdapterInputs; spec: AdapterSpec }>();

    const linF = (out: GPUBuffer, x: GPUBuffer, lin: Linear, key: string, accumulate = false) => {
      const a = this.layers.get(key);
      if (!a) return matmulForward(e, out, x, W(lin.w), lin.b ? W(lin.b) : null, { M: N, N: lin.out, K: lin.in, transB: lin.outIn }, accumulate);
      const spec = layerSpec(lcfg, lin, N);
      const sizes = adapterSavedSizes(spec, groups);
      const sv = Object.fromEntries(Object.entries(sizes).map(([k, v]) => [k, buf(`${key}.${k}`, v)])) as unknown as AdapterSaved;
      if (this.E > 0) {
        // Routed methods keep their statistics past the step, for routerStats().
        if (a.statsGroups !== groups) {
          a.stats?.destroy();
          a.stats = e.createBuffer(`${key}.stats`, sizes.stats * 4);
          a.statsGroups = groups;
        }
        sv.stats = a.stats!;
      }
      const inputs: AdapterInputs = { x, W0: W(lin.w), w0InOut: !lin.outIn, bias: lin.b ? W(lin.b) : null, WrA: a.WrA.value, B: a.B.value, gates: a.gates?.value ?? e.dummy, s: sRows, M: a.M?.value ?? null, task: taskRows, mask: maskRows };
      adapterForward(e, out, sv, inputs, spec, groups, accumulate);
      saved.set(key, { saved: sv, inputs, spec });
    };
    const linB = (dx: GPUBuffer, dy: GPUBuffer, lin: Linear, key: string, accumulate: boolean) => {
      const a = this.layers.get(key);
      const sv = saved.get(key);
      if (!a || !sv) return matmulBackwardInput(e, dx, dy, W(lin.w), { M: N, N: lin.out, K: lin.in, transB: lin.outIn }, accumulate);
      adapterBackward(e, { dx, dWrA: a.WrA.grad, dB: a.B.grad, dgates: a.gates?.grad ?? buf('gates.unused', 2), dM: a.M?.grad ?? null }, dy, sv.saved, sv.inputs, sv.spec, accumulate);
    };
    const ns = { N, C, eps: s.normEps };
    const normF = (out: GPUBuffer, st: { mean: GPUBuffer; rstd: GPUBuffer }, x: GPUBuffer, n: Norm) =>
      s.norm === 'layernorm' ? layernormForward(e, out, st.mean, st.rstd, x, W(n.w), W(n.b!), ns) : rmsnormForward(e, out, st.rstd, x, W(n.w), ns);
    const normB = (dx: GPUBuffer, dout: GPUBuffer, x: GPUBuffer, st: { mean: GPUBuffer; rstd: GPUBuffer }, n: Norm) =>
      s.norm === 'layernorm' ? layernormBackward(e, dx, null, null, dout, x, W(n.w), st.mean, st.rstd, ns, true) : rmsnormBackward(e, dx, null, dout, x, W(n.w), st.rstd, ns, true);
    const stats = () => ({ mean: buf('norm.mean', N), rstd: buf('norm.rstd', N) });

    // ---- forward
    let x = buf('x0', N * C);
    embeddingForward(e, x, ids, W(L.embed), L.pos ? W(L.pos) : null, { B, T, C, V });
    const acts: Array<Record<string, GPUBuffer>> = [];
    const normStats: Array<{ n1: ReturnType<typeof stats>; n2: ReturnType<typeof stats> }> = [];
    const shapes: AttentionShape[] = [];
    for (const [l, blk] of L.blocks.entries()) {
      const a: Record<string, GPUBuffer> = { x };
      const n1 = stats(), n2 = stats();
      a.h1 = buf('h1', N * C);
      normF(a.h1, n1, x, blk.norm1);
      let shape: AttentionShape;
      if (blk.qkv) {
        a.qkv = buf('qkv', N * 3 * C);
        linF(a.qkv, a.h1, blk.qkv, `${l}.qkv`);
        shape = { B, T, NH, NKV, D, q: { stride: 3 * C, offset: 0 }, k: { stride: 3 * C, offset: C }, v: { stride: 3 * C, offset: 2 * C } };
        a.att = buf('att', N * C);
        a.lse = buf('lse', B * NH * T);
        attentionForward(e, a.att, a.lse, a.qkv, a.qkv, a.qkv, shape);
      } else {
        a.qr = buf('qr', N * NH * D); a.kr = buf('kr', N * NKV * D); a.v = buf('v', N * NKV * D); a.q = buf('q', N * NH * D); a.k = buf('k', N * NKV * D);
        linF(a.qr, a.h1, blk.q!, `${l}.q`);
        linF(a.kr, a.h1, blk.k!, `${l}.k`);
        linF(a.v, a.h1, blk.v!, `${l}.v`);
        ropeForward(e, a.q, a.qr, m.ropeTables!, { B, T, H: NH, D, theta: s.ropeTheta! });
        ropeForward(e, a.k, a.kr, m.ropeTables!, { B, T, H: NKV, D, theta: s.ropeTheta! });
        shape = { B, T, NH, NKV, D, q: { stride: NH * D, offset: 0 }, k: { stride: NKV * D, offset: 0 }, v: { stride: NKV * D, offset: 0 } };
        a.att = buf('att', N * NH * D);
        a.lse = buf('lse', B * NH * T);
        attentionForward(e, a.att, a.lse, a.q, a.k, a.v, shape);
      }
      a.xm = buf('xm', N * C);
      e.copy(x, a.xm, N * C * 4);
      linF(a.xm, a.att, blk.o, `${l}.o`, true);
      a.h2 = buf('h2', N * C);
      normF(a.h2, n2, a.xm, blk.norm2);
      const xn = buf('xn', N * C);
      e.copy(a.xm, xn, N * C * 4);
      if (blk.fc) {
        a.u = buf('u', N * I); a.g = buf('g', N * I);
        linF(a.u, a.h2, blk.fc, `${l}.fc`);
        geluForward(e, a.g, a.u, N * I);
        linF(xn, a.g, blk.proj!, `${l}.proj`, true);
      } else {
        a.gt = buf('gate', N * I); a.up = buf('up', N * I); a.a = buf('act', N * I);
        linF(a.gt, a.h2, blk.gate!, `${l}.gate`);
        linF(a.up, a.h2, blk.up!, `${l}.up`);
        swigluForward(e, a.a, a.gt, a.up, N * I);
        linF(xn, a.a, blk.down!, `${l}.down`, true);
      }
      acts.push(a);
      normStats.push({ n1, n2 });
      shapes.push(shape);
      x = xn;
    }
    const nf = stats();
    const xf = buf('xf', N * C);
    normF(xf, nf, x, L.finalNorm);
    const logits = buf('logits', N * V);
    matmulForward(e, logits, xf, W(L.head), null, { M: N, N: V, K: C, transB: true });
    const losses = buf('losses', N);
    crossEntropyBackward(e, logits, losses, targets, { N, V, count });
    const row = this.historyRow(this.stepCount);
    reduceSum(e, this.history!, [{ buffer: losses, n: N }], { scale: 1 / count, index: row });

    // ---- backward
    const dxf = buf('dxf', N * C);
    matmulBackwardInput(e, dxf, logits, W(L.head), { M: N, N: V, K: C, transB: true });
    const dx = buf('dx', N * C);
    e.clear(dx);
    normB(dx, dxf, x, nf, L.finalNorm);
    for (let l = L.blocks.length - 1; l >= 0; l--) {
      const blk = L.blocks[l];
      const a = acts[l];
      const dh2 = buf('dh2', N * C);
      if (blk.fc) {
        const dg = buf('dg', N * I), du = buf('du', N * I);
        linB(dg, dx, blk.proj!, `${l}.proj`, false);
        geluBackward(e, du, dg, a.u, N * I);
        linB(dh2, du, blk.fc, `${l}.fc`, false);
      } else {
        const da = buf('da', N * I), dgt = buf('dgate', N * I), dup = buf('dup', N * I);
        linB(da, dx, blk.down!, `${l}.down`, false);
        swigluBackward(e, dgt, dup, da, a.gt, a.up, N * I);
        linB(dh2, dgt, blk.gate!, `${l}.gate`, false);
        linB(dh2, dup, blk.up!, `${l}.up`, true);
      }
      normB(dx, dh2, a.xm, normStats[l].n2, blk.norm2);
      const datt = buf('datt', N * NH * D);
      linB(datt, dx, blk.o, `${l}.o`, false);
      const dh1 = buf('dh1', N * C);
      if (blk.qkv) {
        const dqkv = buf('dqkv', N * 3 * C);
        attentionBackward(e, dqkv, dqkv, dqkv, datt, a.qkv, a.qkv, a.qkv, a.att, a.lse, shapes[l]);
        linB(dh1, dqkv, blk.qkv, `${l}.qkv`, false);
      } else {
        const dq = buf('dq', N * NH * D), dk = buf('dk', N * NKV * D), dv = buf('dv', N * NKV * D), dqr = buf('dqr', N * NH * D), dkr = buf('dkr', N * NKV * D);
        attentionBackward(e, dq, dk, dv, datt, a.q, a.k, a.v, a.att, a.lse, shapes[l]);
        ropeBackward(e, dqr, dq, m.ropeTables!, { B, T, H: NH, D, theta: s.ropeTheta! });
        ropeBackward(e, dkr, dk, m.ropeTables!, { B, T, H: NKV, D, theta: s.ropeTheta! });
        linB(dh1, dqr, blk.q!, `${l}.q`, false);
        linB(dh1, dkr, blk.k!, `${l}.k`, true);
        linB(dh1, dv, blk.v!, `${l}.v`, true);
      }
      normB(dx, dh1, a.x, normStats[l].n1, blk.norm1);
    }

    // ---- regulariser values into the history (in-stream copies), global norm, AdamW
    if ((this.cfg.lambdaH ?? 0) !== 0 || (this.cfg.lambdaLB ?? 0) !== 0) {
      [...saved.values()].forEach((sv, i) => {
        const E = adapterDims(sv.spec).E;
        const at = (row + 1 + 2 * i) * 4;
        e.copy(sv.saved.stats, this.history!, 4, 3 * E * 4, at); // group 0's mean entropy
        e.copy(sv.saved.stats, this.history!, 4, groups * (3 * E + 2) * 4, at + 4); // the balance value
      });
    }
    const tensors = this.tensors();
    const norm = buf('grad.norm', 1);
    reduceSum(e, norm, tensors.map((t): TensorRef => ({ buffer: t.grad, n: t.n })), { square: true, sqrt: true });
    for (const t of tensors) {
      adamwUpdate(e, t.value, t.m, t.v, t.grad, norm, { ...hyper, step: this.stepCount }, t.n);
    }
    await e.submit();
  }

  /**
   * The loss of every step so far (cross-entropy mean plus the regularisers, before that step's
   * update), from one readback of the GPU-side history: call it every few steps, not per step.
   */
  async losses(): Promise<number[]> {
    if (!this.history || this.stepCount === 0) return [];
    const Wd = this.historyWidth;
    const v = await this.e.read(this.history, this.stepCount * Wd * 4);
    for (const b of this.retired.splice(0)) b.destroy();
    const n = this.layers.size;
    const lH = (this.cfg.lambdaH ?? 0) / n, lLB = (this.cfg.lambdaLB ?? 0) / n;
    const out: number[] = [];
    for (let st = 0; st < this.stepCount; st++) {
      let loss = v[st * Wd];
      if (lH !== 0 || lLB !== 0) for (let i = 0; i < n; i++) loss += lH * v[st * Wd + 1 + 2 * i] + lLB * v[st * Wd + 2 + 2 * i];
      out.push(loss);
    }
    return out;
  }

  /**
   * Router statistics of the last step for every adapted layer: per group (all tokens, then each
   * task) the top-1 share f, mean probability P and mean routing weight G per expert, the mean
   * router entropy and the token count, over the real (non-padding) tokens of the batch's mask,
   * plus the load-balance value. One readback per call: the training loop asks every few steps,
   * never per op.
   */
  async routerStats(): Promise<Array<{ key: string; E: number; groups: Array<{ f: number[]; P: number[]; G: number[]; entropy: number; tokens: number }>; balance: number }>> {
    const out = [];
    for (const [key, l] of this.layers) {
      if (!l.stats) continue;
      const E = this.E;
      const v = await this.e.read(l.stats);
      const stride = 3 * E + 2;
      const groups = [];
      for (let g = 0; g < l.statsGroups; g++) {
        const o = g * stride;
        groups.push({ f: Array.from(v.subarray(o, o + E)), P: Array.from(v.subarray(o + E, o + 2 * E)), G: Array.from(v.subarray(o + 2 * E, o + 3 * E)), entropy: v[o + 3 * E], tokens: v[o + 3 * E + 1] });
      }
      out.push({ key, E, groups, balance: v[l.statsGroups * stride] });
    }
    return out;
  }

  /** The adapter parameters as they stand (for export and tests); M is the mapper (E, k) or null. */
  async readParams(): Promise<Map<string, { WrA: Float32Array; B: Float32Array; gates: Float32Array | null; M: Float32Array | null }>> {
    const out = new Map();
    for (const [key, l] of this.layers) {
      out.set(key, {
        WrA: (await this.e.read(l.WrA.value)).slice(), B: (await this.e.read(l.B.value)).slice(), gates: l.gates ? (await this.e.read(l.gates.value)).slice() : null,
        M: l.M ? (await this.e.read(l.M.value)).slice() : null,
      });
    }
    return out;
  }

  destroy(): void {
    for (const t of this.tensors()) for (const b of [t.value, t.grad, t.m, t.v]) b.destroy();
    for (const l of this.layers.values()) l.stats?.destroy();
    for (const b of [...this.retired, ...(this.history ? [this.history] : [])]) b.destroy();
  }
}
