// Finetuning on the GPU: adapters on a loaded model's linear layers; a step reads as llm.c's
// train_gpt2.c does: zeroGrad, forward (saving StepActs), backward, update (global gradient norm,
// the non-finite guard, AdamW on the adapter parameters only; the base model stays frozen),
// with gradient accumulation over micro-batches. The mirror of src/reference/train.ts.
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
import { adamwUpdate, optimGuard } from '../ops/optim.ts';
import { adapterBackward, adapterForward, adapterSavedSizes, type AdapterInputs, type AdapterSaved } from '../ops/adapter.ts';
import { adapterDims, adapterInit, type AdapterSpec } from '../adapters/spec.ts';
import { adaptedLayers, batchMask, layerSpec, type AdapterConfig, type TrainBatch, type TrainHyper } from './config.ts';
import { stackParams, type AdapterParams, type ParamArray, type StackedParams } from '../adapters/params.ts';
import type { AttentionShape } from '../ops/shapes.ts';
import { rng } from '../util/random.ts';

export interface TrainerState {
  step: number;
  tensors: Record<string, { value: Float32Array; m: Float32Array; v: Float32Array }>;
  /** optim_guard's state: applied steps, last skip flag, consecutive skips, total skips. */
  guard: Uint32Array;
  history: Float32Array;
}

interface Tensor {
  label: string;
  value: GPUBuffer;
  grad: GPUBuffer;
  m: GPUBuffer;
  v: GPUBuffer;
  n: number;
}

interface NormStats {
  mean: GPUBuffer;
  rstd: GPUBuffer;
}

/** What one block's forward saves for its backward (llm.c's ActivationTensors, per block). */
interface BlockActs {
  /** The block's input (the residual stream). */
  x: GPUBuffer;
  n1: NormStats;
  n2: NormStats;
  shape: AttentionShape;
  /** h1, qkv | q, k, v, qr, kr, att, lse, xm, h2, u, g | gate, up, act. */
  t: Record<string, GPUBuffer>;
}

/** A forward pass's saved tensors. */
interface StepActs {
  B: number;
  T: number;
  N: number;
  groups: number;
  blocks: BlockActs[];
  saved: Map<string, { saved: AdapterSaved; inputs: AdapterInputs; spec: AdapterSpec }>;
  /** The last block's output, the final norm's statistics and output. */
  x: GPUBuffer;
  nf: NormStats;
  xf: GPUBuffer;
  /** Training: logits overwritten with dlogits, and per-token losses. */
  logits: GPUBuffer | null;
  losses: GPUBuffer | null;
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
  private historyBuf: GPUBuffer | null = null;
  private historyCapacity = 0;
  /** Outgrown history buffers, destroyed after the next readback. */
  private readonly retired: GPUBuffer[] = [];

  constructor(engine: Engine, model: GpuModel, cfg: AdapterConfig, init: Map<string, AdapterParams<ParamArray>>) {
    this.e = engine;
    this.model = model;
    this.cfg = cfg;
    const tensor = (label: string, data: ParamArray | number[]): Tensor => {
      const f = Float32Array.from(data);
      return {
        label, value: engine.createBuffer(label, f), grad: engine.createBuffer(`${label}.grad`, f.byteLength),
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
      const st = stackParams(p);
      this.layers.set(key, {
        key, lin, stats: null, statsGroups: 0, WrA: tensor(`${key}.WrA`, st.WrA), B: tensor(`${key}.B`, st.B),
        gates: st.gates ? tensor(`${key}.gates`, st.gates) : null,
        M: st.M ? tensor(`${key}.rank1_flex_mapper`, st.M) : null,
      });
    }
  }

  private tensors(): Tensor[] {
    return [...this.layers.values()].flatMap((l) => [l.WrA, l.B, ...(l.gates ? [l.gates] : []), ...(l.M ? [l.M] : [])]);
  }

  /** Floats per step in the loss history: cross-entropy, skip flag, gradient norm, then (entropy, balance) per adapted layer. */
  private get historyWidth(): number {
    return 3 + 2 * this.layers.size;
  }

  /** The step's row in the GPU-side loss history, growing the buffer (in stream) when full. */
  private historyRow(step: number): number {
    const rowBytes = this.historyWidth * 4;
    if (!this.historyBuf || step > this.historyCapacity) {
      const capacity = Math.max(64, this.historyCapacity * 2);
      const next = this.e.createBuffer('train.lossHistory', capacity * rowBytes);
      if (this.historyBuf) {
        this.e.copy(this.historyBuf, next, this.historyCapacity * rowBytes);
        this.retired.push(this.historyBuf);
      }
      this.historyBuf = next;
      this.historyCapacity = capacity;
    }
    return (step - 1) * this.historyWidth;
  }

  /** Checks a batch against the model and the adapter; its real-token mask (null: all real). */
  private checkBatch(batch: TrainBatch, needTargets: boolean): number[] | null {
    const s = this.model.spec;
    const { B, T } = batch;
    const N = B * T;
    if (!(Number.isInteger(B) && B >= 1 && Number.isInteger(T) && T >= 1)) throw new Error(`train step: B and T must be positive integers, got ${B} x ${T}`);
    if (batch.ids.length !== N || batch.targets.length !== N) throw new Error(`train step: ids and targets must hold B·T = ${N} tokens`);
    if (T > s.maxPositions) throw new Error(`train step: sequences of ${T} tokens exceed the model's ${s.maxPositions} positions`);
    if (needTargets && !batch.targets.some((t) => t >= 0)) throw new Error('train step: every target is masked; nothing to learn from');
    if (this.gated && (!batch.s || batch.s.length !== B * this.K)) throw new Error(`train step: intuition scores must be B x ${this.K === this.E ? 'E' : 'k'} = ${B} x ${this.K}`);
    if (batch.task && (batch.task.length !== B || batch.task.some((t) => !(Number.isInteger(t) && t >= 0)))) throw new Error(`train step: task labels must be B = ${B} non-negative integers`);
    return batchMask(batch);
  }

  private get gated(): boolean {
    return this.E > 0 && adapterDims(layerSpec(this.cfg, [...this.layers.values()][0].lin, 1)).gated;
  }

  /**
   * One optimiser step on one batch (forward, masked cross-entropy, backward, global-norm clip,
   * guarded AdamW). See `accumulateStep` for several micro-batches.
   */
  async step(batch: TrainBatch, hyper: TrainHyper): Promise<void> {
    await this.accumulateStep([batch], hyper);
  }

  /**
   * One optimiser step over micro-batches whose gradients add up (an effective batch larger
   * than what fits): the loss is the mean cross-entropy over every answer token of all of them,
   * plus the regularisers (their values from the last micro-batch). Each micro-batch is its own
   * submission, so its temporaries return to the pool before the next. Nothing is read back: the
   * loss, the skip flag and the gradient norm land in the GPU-side history (`history()`), and a
   * non-finite loss or norm skips the update on the GPU (optim_guard).
   */
  async accumulateStep(batches: TrainBatch[], hyper: TrainHyper): Promise<void> {
    if (!batches.length) throw new Error('train step: no micro-batches');
    const masks = batches.map((b) => this.checkBatch(b, false));
    const count = batches.reduce((a, b) => a + b.targets.filter((t) => t >= 0).length, 0);
    if (!count) throw new Error('train step: every target is masked; nothing to learn from');
    const e = this.e;
    this.stepCount++;
    const row = this.historyRow(this.stepCount);
    this.microLoss = this.growBuffer(this.microLoss, 'train.microLoss', batches.length);
    this.zeroGrad();
    for (const [i, batch] of batches.entries()) {
      const acts = this.forward(batch, masks[i], { lossScale: 1 / count, micro: batches.length, training: true });
      reduceSum(e, this.microLoss!, [{ buffer: acts.losses!, n: acts.N }], { scale: 1 / count, index: i });
      this.backward(acts);
      if (i === batches.length - 1) this.regulariserValues(acts, row);
      await e.submit();
    }
    reduceSum(e, this.historyBuf!, [{ buffer: this.microLoss!, n: batches.length }], { index: row });
    this.update(hyper, row);
    await e.submit();
  }

  private microLoss: GPUBuffer | null = null;
  private guard: GPUBuffer | null = null;

  private growBuffer(b: GPUBuffer | null, label: string, floats: number): GPUBuffer {
    if (b && b.size >= floats * 4) return b;
    b?.destroy();
    return this.e.createBuffer(label, Math.max(16, floats * 4));
  }

  private zeroGrad(): void {
    for (const t of this.tensors()) this.e.clear(t.grad);
  }

  /** The forward pass of a batch with the adapters, saving what the backward needs (StepActs). */
  private forward(batch: TrainBatch, mask: number[] | null, opts: { lossScale: number; micro: number; training: boolean; keepStats?: boolean }): StepActs {
    const e = this.e, m = this.model, s = m.spec, L = m.layout;
    const { B, T } = batch;
    const N = B * T, C = s.hidden, D = s.headDim, NH = s.heads, NKV = s.kvHeads, I = s.intermediate, V = s.vocabSize;
    const W = (n: string) => m.weight(n);
    const buf = (label: string, n: number) => e.scratch(label, n * 4);
    const ids = e.scratch('train.ids', Uint32Array.from(batch.ids));
    const groups = 1 + (batch.task ? Math.max(...batch.task) + 1 : 0);
    const taskRows = batch.task ? e.scratch('train.task', Uint32Array.from({ length: N }, (_, i) => batch.task![Math.floor(i / T)])) : null;
    // Padding tokens (mask 0) count in no router statistic and get no regulariser gradient.
    const maskRows = mask ? e.scratch('train.mask', Uint32Array.from(mask)) : null;
    const K = this.K;
    const sRows = batch.s && K > 0 ? e.scratch('train.s', Float32Array.from({ length: N * K }, (_, i) => batch.s![Math.floor(Math.floor(i / K) / T) * K + (i % K)])) : null;
    // Regularisers: averaged over adapted layers and over the step's micro-batches.
    const share = this.layers.size * opts.micro;
    const lcfg = { ...this.cfg, lambdaH: (this.cfg.lambdaH ?? 0) / share, lambdaLB: (this.cfg.lambdaLB ?? 0) / share };
    const acts: StepActs = { B, T, N, groups, blocks: [], saved: new Map(), x: null!, nf: null!, xf: null!, logits: null, losses: null };
    const linF = (out: GPUBuffer, x: GPUBuffer, lin: Linear, key: string, accumulate = false) => {
      const a = this.layers.get(key);
      if (!a) return matmulForward(e, out, x, W(lin.w), lin.b ? W(lin.b) : null, { M: N, N: lin.out, K: lin.in, transB: lin.outIn }, accumulate);
      const spec = layerSpec(lcfg, lin, N);
      const sizes = adapterSavedSizes(spec, groups);
      const sv = Object.fromEntries(Object.entries(sizes).map(([k, v]) => [k, buf(`${key}.${k}`, v)])) as unknown as AdapterSaved;
      if (this.E > 0 && opts.training && opts.keepStats !== false) {
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
      acts.saved.set(key, { saved: sv, inputs, spec });
    };
    const ns = { N, C, eps: s.normEps };
    const normF = (out: GPUBuffer, st: NormStats, x: GPUBuffer, n: Norm) =>
      s.norm === 'layernorm' ? layernormForward(e, out, st.mean, st.rstd, x, W(n.w), W(n.b!), ns) : rmsnormForward(e, out, st.rstd, x, W(n.w), ns);
    const stats = (): NormStats => ({ mean: buf('norm.mean', N), rstd: buf('norm.rstd', N) });

    let x = buf('x0', N * C);
    embeddingForward(e, x, ids, W(L.embed), L.pos ? W(L.pos) : null, { B, T, C, V });
    for (const [l, blk] of L.blocks.entries()) {
      const a: BlockActs = { x, n1: stats(), n2: stats(), shape: null!, t: {} };
      const t = a.t;
      t.h1 = buf('h1', N * C);
      normF(t.h1, a.n1, x, blk.norm1);
      if (blk.qkv) {
        t.qkv = buf('qkv', N * 3 * C);
        linF(t.qkv, t.h1, blk.qkv, `${l}.qkv`);
        a.shape = { B, T, NH, NKV, D, q: { stride: 3 * C, offset: 0 }, k: { stride: 3 * C, offset: C }, v: { stride: 3 * C, offset: 2 * C } };
        t.att = buf('att', N * C);
        t.lse = buf('lse', B * NH * T);
        attentionForward(e, t.att, t.lse, t.qkv, t.qkv, t.qkv, a.shape);
      } else {
        t.qr = buf('qr', N * NH * D); t.kr = buf('kr', N * NKV * D); t.v = buf('v', N * NKV * D); t.q = buf('q', N * NH * D); t.k = buf('k', N * NKV * D);
        linF(t.qr, t.h1, blk.q!, `${l}.q`);
        linF(t.kr, t.h1, blk.k!, `${l}.k`);
        linF(t.v, t.h1, blk.v!, `${l}.v`);
        ropeForward(e, t.q, t.qr, m.ropeTables!, { B, T, H: NH, D, theta: s.ropeTheta! });
        ropeForward(e, t.k, t.kr, m.ropeTables!, { B, T, H: NKV, D, theta: s.ropeTheta! });
        a.shape = { B, T, NH, NKV, D, q: { stride: NH * D, offset: 0 }, k: { stride: NKV * D, offset: 0 }, v: { stride: NKV * D, offset: 0 } };
        t.att = buf('att', N * NH * D);
        t.lse = buf('lse', B * NH * T);
        attentionForward(e, t.att, t.lse, t.q, t.k, t.v, a.shape);
      }
      t.xm = buf('xm', N * C);
      e.copy(x, t.xm, N * C * 4);
      linF(t.xm, t.att, blk.o, `${l}.o`, true);
      t.h2 = buf('h2', N * C);
      normF(t.h2, a.n2, t.xm, blk.norm2);
      const xn = buf('xn', N * C);
      e.copy(t.xm, xn, N * C * 4);
      if (blk.fc) {
        t.u = buf('u', N * I); t.g = buf('g', N * I);
        linF(t.u, t.h2, blk.fc, `${l}.fc`);
        geluForward(e, t.g, t.u, N * I);
        linF(xn, t.g, blk.proj!, `${l}.proj`, true);
      } else {
        t.gt = buf('gate', N * I); t.up = buf('up', N * I); t.a = buf('act', N * I);
        linF(t.gt, t.h2, blk.gate!, `${l}.gate`);
        linF(t.up, t.h2, blk.up!, `${l}.up`);
        swigluForward(e, t.a, t.gt, t.up, N * I);
        linF(xn, t.a, blk.down!, `${l}.down`, true);
      }
      acts.blocks.push(a);
      x = xn;
    }
    acts.x = x;
    acts.nf = stats();
    acts.xf = buf('xf', N * C);
    normF(acts.xf, acts.nf, x, L.finalNorm);
    if (opts.training) {
      acts.logits = buf('logits', N * V);
      matmulForward(e, acts.logits, acts.xf, W(L.head), null, { M: N, N: V, K: C, transB: true });
      acts.losses = buf('losses', N);
      // dlogits = (softmax − onehot) · lossScale in place; per-token losses for the history.
      crossEntropyBackward(e, acts.logits, acts.losses, e.scratch('train.targets', Int32Array.from(batch.targets)), { N, V, count: 1 / opts.lossScale });
    }
    return acts;
  }

  /** The backward pass of a forward's activations into the adapter gradients (`+=`). */
  private backward(acts: StepActs): void {
    const e = this.e, m = this.model, s = m.spec, L = m.layout;
    const { B, T, N } = acts;
    const C = s.hidden, D = s.headDim, NH = s.heads, NKV = s.kvHeads, I = s.intermediate, V = s.vocabSize;
    const W = (n: string) => m.weight(n);
    const buf = (label: string, n: number) => e.scratch(label, n * 4);
    const linB = (dx: GPUBuffer, dy: GPUBuffer, lin: Linear, key: string, accumulate: boolean) => {
      const a = this.layers.get(key);
      const sv = acts.saved.get(key);
      if (!a || !sv) return matmulBackwardInput(e, dx, dy, W(lin.w), { M: N, N: lin.out, K: lin.in, transB: lin.outIn }, accumulate);
      adapterBackward(e, { dx, dWrA: a.WrA.grad, dB: a.B.grad, dgates: a.gates?.grad ?? buf('gates.unused', 2), dM: a.M?.grad ?? null }, dy, sv.saved, sv.inputs, sv.spec, accumulate);
    };
    const ns = { N, C, eps: s.normEps };
    const normB = (dx: GPUBuffer, dout: GPUBuffer, x: GPUBuffer, st: NormStats, n: Norm) =>
      s.norm === 'layernorm' ? layernormBackward(e, dx, null, null, dout, x, W(n.w), st.mean, st.rstd, ns, true) : rmsnormBackward(e, dx, null, dout, x, W(n.w), st.rstd, ns, true);

    const dxf = buf('dxf', N * C);
    matmulBackwardInput(e, dxf, acts.logits!, W(L.head), { M: N, N: V, K: C, transB: true });
    const dx = buf('dx', N * C);
    e.clear(dx);
    normB(dx, dxf, acts.x, acts.nf, L.finalNorm);
    for (let l = L.blocks.length - 1; l >= 0; l--) {
      const blk = L.blocks[l];
      const a = acts.blocks[l], t = a.t;
      const dh2 = buf('dh2', N * C);
      if (blk.fc) {
        const dg = buf('dg', N * I), du = buf('du', N * I);
        linB(dg, dx, blk.proj!, `${l}.proj`, false);
        geluBackward(e, du, dg, t.u, N * I);
        linB(dh2, du, blk.fc, `${l}.fc`, false);
      } else {
        const da = buf('da', N * I), dgt = buf('dgate', N * I), dup = buf('dup', N * I);
        linB(da, dx, blk.down!, `${l}.down`, false);
        swigluBackward(e, dgt, dup, da, t.gt, t.up, N * I);
        linB(dh2, dgt, blk.gate!, `${l}.gate`, false);
        linB(dh2, dup, blk.up!, `${l}.up`, true);
      }
      normB(dx, dh2, t.xm, a.n2, blk.norm2);
      const datt = buf('datt', N * NH * D);
      linB(datt, dx, blk.o, `${l}.o`, false);
      const dh1 = buf('dh1', N * C);
      if (blk.qkv) {
        const dqkv = buf('dqkv', N * 3 * C);
        attentionBackward(e, dqkv, dqkv, dqkv, datt, t.qkv, t.qkv, t.qkv, t.att, t.lse, a.shape);
        linB(dh1, dqkv, blk.qkv, `${l}.qkv`, false);
      } else {
        const dq = buf('dq', N * NH * D), dk = buf('dk', N * NKV * D), dv = buf('dv', N * NKV * D), dqr = buf('dqr', N * NH * D), dkr = buf('dkr', N * NKV * D);
        attentionBackward(e, dq, dk, dv, datt, t.q, t.k, t.v, t.att, t.lse, a.shape);
        ropeBackward(e, dqr, dq, m.ropeTables!, { B, T, H: NH, D, theta: s.ropeTheta! });
        ropeBackward(e, dkr, dk, m.ropeTables!, { B, T, H: NKV, D, theta: s.ropeTheta! });
        linB(dh1, dqr, blk.q!, `${l}.q`, false);
        linB(dh1, dkr, blk.k!, `${l}.k`, true);
        linB(dh1, dv, blk.v!, `${l}.v`, true);
      }
      normB(dx, dh1, a.x, a.n1, blk.norm1);
    }
  }

  /** The regularisers' values (entropy, balance per layer) into the history row (in-stream copies). */
  private regulariserValues(acts: StepActs, row: number): void {
    if ((this.cfg.lambdaH ?? 0) === 0 && (this.cfg.lambdaLB ?? 0) === 0) return;
    [...acts.saved.values()].forEach((sv, i) => {
      const E = adapterDims(sv.spec).E;
      const at = (row + 3 + 2 * i) * 4;
      this.e.copy(sv.saved.stats, this.historyBuf!, 4, 3 * E * 4, at); // group 0's mean entropy
      this.e.copy(sv.saved.stats, this.historyBuf!, 4, acts.groups * (3 * E + 2) * 4, at + 4); // the balance value
    });
  }

  /** Global gradient norm (kept in the history), the guard, and AdamW on every adapter tensor. */
  private update(hyper: TrainHyper, row: number): void {
    const e = this.e;
    const tensors = this.tensors();
    const norm = e.scratch('grad.norm', 4);
    reduceSum(e, norm, tensors.map((t): TensorRef => ({ buffer: t.grad, n: t.n })), { square: true, sqrt: true });
    e.copy(norm, this.historyBuf!, 4, 0, (row + 2) * 4);
    if (!this.guard) {
      this.guard = e.createBuffer('train.guard', 16);
      e.clear(this.guard);
    }
    optimGuard(e, this.guard, this.historyBuf!, norm, { lossAt: row, flagAt: row + 1 });
    for (const t of tensors) adamwUpdate(e, t.value, t.m, t.v, t.grad, norm, { ...hyper, step: this.stepCount }, t.n, this.guard);
  }

  /**
   * Mean cross-entropy over every answer token of the batches (no regularisers), without
   * touching gradients or statistics: one readback.
   */
  async validationLoss(batches: TrainBatch[]): Promise<number> {
    const e = this.e;
    const count = batches.reduce((a, b) => a + b.targets.filter((t) => t >= 0).length, 0);
    if (!count) throw new Error('validation loss: no answer tokens in the validation batches');
    const sums = e.scratch('val.sums', batches.length * 4);
    for (const [i, b] of batches.entries()) {
      const acts = this.forward(b, this.checkBatch(b, false), { lossScale: 1 / count, micro: 1, training: true, keepStats: false });
      reduceSum(e, sums, [{ buffer: acts.losses!, n: acts.N }], { scale: 1 / count, index: i });
    }
    const out = e.scratch('val.loss', 4);
    reduceSum(e, out, [{ buffer: sums, n: batches.length }]);
    return (await e.read(out, 4))[0];
  }

  /**
   * Logits (n x V) of the next token after each sequence, through the model with its adapters
   * (evaluation, generation). Sequences are right-padded into one batch; `s` gives each one's
   * intuition scores (gated methods). The router statistics of training are left untouched.
   */
  async nextLogits(seqs: number[][], s: number[][] | null): Promise<Float32Array> {
    const e = this.e, spec = this.model.spec, C = spec.hidden, V = spec.vocabSize;
    if (!seqs.length || seqs.some((q) => !q.length)) throw new Error('nextLogits: every sequence needs at least one token');
    const B = seqs.length, T = Math.max(...seqs.map((q) => q.length));
    const ids = new Array<number>(B * T).fill(0), mask = new Array<number>(B * T).fill(0);
    seqs.forEach((q, b) => q.forEach((id, i) => ((ids[b * T + i] = id), (mask[b * T + i] = 1))));
    const batch: TrainBatch = { B, T, ids, targets: new Array<number>(B * T).fill(-100), mask, s: s ? s.flat() : null };
    const acts = this.forward(batch, this.checkBatch(batch, false), { lossScale: 1, micro: 1, training: false });
    const last = e.scratch('eval.last', B * C * 4);
    seqs.forEach((q, b) => e.copy(acts.xf, last, C * 4, (b * T + q.length - 1) * C * 4, b * C * 4));
    const out = e.scratch('eval.logits', B * V * 4);
    matmulForward(e, out, last, this.model.weight(this.model.layout.head), null, { M: B, N: V, K: C, transB: true });
    return (await e.read(out, B * V * 4)).slice();
  }

  /**
   * Everything a resumed run needs to continue exactly: every adapter tensor's value and AdamW
   * moments (by label), the guard's state, the step count and the loss history rows.
   */
  async saveState(): Promise<TrainerState> {
    const tensors: TrainerState['tensors'] = {};
    for (const t of this.tensors()) tensors[t.label] = { value: (await this.e.read(t.value)).slice(0, t.n), m: (await this.e.read(t.m)).slice(0, t.n), v: (await this.e.read(t.v)).slice(0, t.n) };
    const guard = this.guard ? new Uint32Array((await this.e.read(this.guard, 16)).slice().buffer) : new Uint32Array(4);
    const history = this.historyBuf && this.stepCount ? (await this.e.read(this.historyBuf, this.stepCount * this.historyWidth * 4)).slice() : new Float32Array(0);
    return { step: this.stepCount, tensors, guard, history };
  }

  /** Restores saveState's output into this trainer (same model, same adapter configuration). */
  loadState(st: TrainerState): void {
    const e = this.e;
    for (const t of this.tensors()) {
      const saved = st.tensors[t.label];
      if (!saved) throw new Error(`restore: the checkpoint has no tensor ${t.label} (another adapter configuration?)`);
      for (const [name, buf] of [['value', t.value], ['m', t.m], ['v', t.v]] as const) {
        if (saved[name].length !== t.n) throw new Error(`restore: ${t.label}.${name} holds ${saved[name].length} values, the adapter needs ${t.n}`);
        e.write(buf, saved[name]);
      }
    }
    this.guard ??= e.createBuffer('train.guard', 16);
    e.write(this.guard, st.guard);
    this.stepCount = st.step;
    if (st.step) {
      this.historyRow(st.step);
      e.write(this.historyBuf!, st.history);
    }
  }

  /** Optimiser steps taken so far (applied or skipped). */
  get steps(): number {
    return this.stepCount;
  }

  /**
   * The loss of every step so far (cross-entropy mean plus the regularisers, before that step's
   * update), from one readback of the GPU-side history: call it every few steps, not per step.
   */
  async losses(): Promise<number[]> {
    if (!this.historyBuf || this.stepCount === 0) return [];
    const Wd = this.historyWidth;
    const v = await this.e.read(this.historyBuf, this.stepCount * Wd * 4);
    for (const b of this.retired.splice(0)) b.destroy();
    const n = this.layers.size;
    const lH = (this.cfg.lambdaH ?? 0) / n, lLB = (this.cfg.lambdaLB ?? 0) / n;
    const out: number[] = [];
    for (let st = 0; st < this.stepCount; st++) {
      let loss = v[st * Wd];
      if (lH !== 0 || lLB !== 0) for (let i = 0; i < n; i++) loss += lH * v[st * Wd + 3 + 2 * i] + lLB * v[st * Wd + 4 + 2 * i];
      out.push(loss);
    }
    return out;
  }

  /**
   * Every step's row from one readback of the history (from step `from`, 0-based): the loss as
   * `losses()` gives it, whether the guard skipped the update, and the global gradient norm
   * before clipping.
   */
  async history(from = 0): Promise<Array<{ step: number; loss: number; skipped: boolean; gradNorm: number }>> {
    if (!this.historyBuf || this.stepCount <= from) return [];
    const Wd = this.historyWidth;
    const v = await this.e.read(this.historyBuf, this.stepCount * Wd * 4);
    for (const b of this.retired.splice(0)) b.destroy();
    const n = this.layers.size;
    const lH = (this.cfg.lambdaH ?? 0) / n, lLB = (this.cfg.lambdaLB ?? 0) / n;
    const out = [];
    for (let st = from; st < this.stepCount; st++) {
      let loss = v[st * Wd];
      if (lH !== 0 || lLB !== 0) for (let i = 0; i < n; i++) loss += lH * v[st * Wd + 3 + 2 * i] + lLB * v[st * Wd + 4 + 2 * i];
      out.push({ step: st + 1, loss, skipped: v[st * Wd + 1] !== 0, gradNorm: v[st * Wd + 2] });
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
  async readParams(): Promise<Map<string, StackedParams>> {
    const out = new Map<string, StackedParams>();
    for (const [key, l] of this.layers) {
      out.set(key, {
        WrA: (await this.e.read(l.WrA.value)).slice(), B: (await this.e.read(l.B.value)).slice(), gates: l.gates ? (await this.e.read(l.gates.value)).slice() : null,
        M: l.M ? (await this.e.read(l.M.value)).slice() : null,
      });
    }
    return out;
  }

  /** The gradients of the last step (accumulated, before clipping), per adapted layer, like readParams. */
  async readGrads(): Promise<Map<string, StackedParams>> {
    const out = new Map<string, StackedParams>();
    for (const [key, l] of this.layers) {
      out.set(key, {
        WrA: (await this.e.read(l.WrA.grad)).slice(0, l.WrA.n), B: (await this.e.read(l.B.grad)).slice(0, l.B.n), gates: l.gates ? (await this.e.read(l.gates.grad)).slice(0, 2) : null,
        M: l.M ? (await this.e.read(l.M.grad)).slice(0, l.M.n) : null,
      });
    }
    return out;
  }

  destroy(): void {
    for (const t of this.tensors()) for (const b of [t.value, t.grad, t.m, t.v]) b.destroy();
    for (const l of this.layers.values()) l.stats?.destroy();
    for (const b of [...this.retired, ...(this.historyBuf ? [this.historyBuf] : []), ...(this.microLoss ? [this.microLoss] : []), ...(this.guard ? [this.guard] : [])]) b.destroy();
  }
}
