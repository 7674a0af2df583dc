// Finetuning on the GPU: adapters on a loaded model's linear layers; a step reads as llm.c's
// train_gpt2.c does: zeroGrad, forward (saving StepActs), backward, update (global gradient norm,
// the non-finite guard, AdamW on the adapter parameters only; the base model stays frozen),
// with gradient accumulation over micro-batches. The mirror of src/reference/train.ts.
import type { Engine } from '../gpu/engine.ts';
import type { GpuModel } from '../model/gpuModel.ts';
import type { Linear } from '../model/layout.ts';
import type { AdapterHook, GpuBlockActs, GpuPass, NormStats } from '../model/forward.ts';
import { blocksBackward } from '../model/schedule.ts';
import { matmulBackwardInput, matmulForward } from '../ops/matmul.ts';
import { crossEntropyBackward } from '../ops/crossEntropy.ts';
import { reduceSum, type TensorRef } from '../ops/reduce.ts';
import { adamwUpdate, optimGuard } from '../ops/optim.ts';
import { adapterBackward, adapterForward, adapterSavedSizes, type AdapterInputs, type AdapterSaved } from '../ops/adapter.ts';
import { adapterDims, adapterInit, type AdapterSpec } from '../adapters/spec.ts';
import { adaptedLayers, batchMask, layerSpec, type AdapterConfig, type TrainBatch, type TrainHyper } from './config.ts';
import { stackParams, unstackParams, type AdapterParams, type ParamArray, type StackedParams } from '../adapters/params.ts';
import { rng } from '../util/random.ts';

/** Most bytes of logits a training step holds at once (the head and loss run in chunks of tokens). */
/** saveState reads at most this much back per submission (one buffer more when a single one is larger). */
const SAVE_CHUNK_BYTES = 16 * 2 ** 20;

export const LOGIT_CHUNK_BYTES = 64 * 2 ** 20;

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

/** A forward pass's saved tensors (the blocks' activations are named once, in BlockActs). */
interface StepActs {
  B: number;
  T: number;
  N: number;
  groups: number;
  pass: GpuPass;
  blocks: GpuBlockActs[];
  saved: Map<string, { saved: AdapterSaved; inputs: AdapterInputs; spec: AdapterSpec }>;
  /** The last block's output, the final norm's statistics and output. */
  x: GPUBuffer;
  nf: NormStats;
  xf: GPUBuffer;
  /** Training: per-token losses and the gradient of the final norm's output (from the chunked head). */
  losses: GPUBuffer | null;
  dxf: GPUBuffer | null;
}

/** What the adapters of one pass read besides the tokens: per-token scores, task and mask rows. */
interface PassInputs {
  N: number;
  groups: number;
  sRows: GPUBuffer | null;
  taskRows: GPUBuffer | null;
  maskRows: GPUBuffer | null;
  /** The config with the regularisers' weights shared out over layers and micro-batches. */
  lcfg: AdapterConfig;
  /** Keep the router statistics past the step (training steps), for routerStats(). */
  keepStats: boolean;
  saved: StepActs['saved'];
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
 * Rows the loss history grows to so that `step` fits: at least 64, doubling from the current
 * capacity. A restored run asks for its whole history at once (step 246 with nothing allocated),
 * so one doubling is not enough.
 */
export function historyCapacityFor(step: number, current: number): number {
  let capacity = Math.max(64, current * 2);
  while (capacity < step) capacity *= 2;
  return capacity;
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
  readonly model: GpuModel;
  readonly cfg: AdapterConfig;
  private readonly layers = new Map<string, AdaptedLayer>();
  /** Experts per adapted layer (0: LoRA). */
  readonly E: number;
  /** Width of the intuition scores per sequence: E, or the cluster count k with a mapper. */
  readonly K: number;
  /** Whether the adapters have the intuition gate (T-REX, MoR1E). */
  readonly gated: boolean;
  private stepCount = 0;
  /** Most bytes of logits at once in a training step (tests set it small to exercise the chunks). */
  logitChunkBytes = LOGIT_CHUNK_BYTES;
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
    this.gated = dims.gated;
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
      const capacity = historyCapacityFor(step, this.historyCapacity);
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
   * plus the regularisers (their values from the last micro-batch). Each micro-batch but the last
   * is its own submission, so its temporaries return to the pool before the next; the last goes
   * with the update (which needs 4 bytes of scratch). Nothing is read back: the
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
      // The last micro-batch shares its command buffer with the update: one wait per step, and the
      // update is recorded while nothing waits on the GPU.
      else await e.submit();
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

  /** The per-token rows a pass's adapters read: intuition scores, task labels, the padding mask. */
  private passInputs(batch: TrainBatch, mask: number[] | null, opts: { micro: number; keepStats: boolean }): PassInputs {
    const e = this.e, { B, T } = batch, N = B * T, K = this.K;
    const groups = 1 + (batch.task ? Math.max(...batch.task) + 1 : 0);
    // Regularisers: averaged over adapted layers and over the step's micro-batches.
    const share = this.layers.size * opts.micro;
    return {
      N, groups,
      sRows: batch.s && K > 0 ? e.scratch('train.s', Float32Array.from({ length: N * K }, (_, i) => batch.s![Math.floor(Math.floor(i / K) / T) * K + (i % K)])) : null,
      taskRows: batch.task ? e.scratch('train.task', Uint32Array.from({ length: N }, (_, i) => batch.task![Math.floor(i / T)])) : null,
      // Padding tokens (mask 0) count in no router statistic and get no regulariser gradient.
      maskRows: mask ? e.scratch('train.mask', Uint32Array.from(mask)) : null,
      lcfg: { ...this.cfg, lambdaH: (this.cfg.lambdaH ?? 0) / share, lambdaLB: (this.cfg.lambdaLB ?? 0) / share },
      keepStats: opts.keepStats,
      saved: new Map(),
    };
  }

  /** The adapters as a pass sees them: each adapted linear runs the adapter kernels, saving for its backward. */
  private hook(inp: PassInputs): AdapterHook {
    const e = this.e, W = (n: string) => this.model.weight(n);
    return {
      has: (key) => this.layers.has(key),
      forward: (out, x, lin, key, accumulate) => {
        const a = this.layers.get(key)!;
        const spec = layerSpec(inp.lcfg, lin, inp.N);
        const sizes = adapterSavedSizes(spec, inp.groups);
        const sv = Object.fromEntries(Object.entries(sizes).map(([k, v]) => [k, e.scratch(`${key}.${k}`, v * 4)])) as unknown as AdapterSaved;
        if (this.E > 0 && inp.keepStats) {
          // Routed methods keep their statistics past the step, for routerStats().
          if (a.statsGroups !== inp.groups) {
            a.stats?.destroy();
            a.stats = e.createBuffer(`${key}.stats`, sizes.stats * 4);
            a.statsGroups = inp.groups;
          }
          sv.stats = a.stats!;
        }
        const inputs: AdapterInputs = { x, W0: W(lin.w), w0InOut: !lin.outIn, bias: lin.b ? W(lin.b) : null, WrA: a.WrA.value, B: a.B.value, gates: a.gates?.value ?? e.dummy, s: inp.sRows, M: a.M?.value ?? null, task: inp.taskRows, mask: inp.maskRows };
        adapterForward(e, out, sv, inputs, spec, inp.groups, accumulate);
        inp.saved.set(key, { saved: sv, inputs, spec });
      },
      blockDone: (l) => {
        // The block's adapters' saved tensors are dead (the statistics buffers are not scratch and stay).
        for (const [key, sv] of inp.saved) if (key.startsWith(`${l}.`)) this.e.recycle(...Object.values(sv.saved));
      },
      backward: (dx, dy, _lin, key, accumulate) => {
        const a = this.layers.get(key)!, sv = inp.saved.get(key);
        if (!sv) throw new Error(`train backward: layer ${key} has no saved forward`);
        adapterBackward(e, { dx, dWrA: a.WrA.grad, dB: a.B.grad, dgates: a.gates?.grad ?? e.scratch('gates.unused', 8), dM: a.M?.grad ?? null }, dy, sv.saved, sv.inputs, sv.spec, accumulate);
      },
    };
  }

  /**
   * The forward pass of a batch with the adapters (the shared block schedule, src/model/schedule.ts);
   * with `training`, every activation is saved for the backward, and the chunked head gives the
   * per-token losses and the head's input gradient.
   */
  private forward(batch: TrainBatch, mask: number[] | null, opts: { lossScale: number; micro: number; training: boolean; keepStats?: boolean }): StepActs {
    const m = this.model;
    const { B, T } = batch;
    const N = B * T;
    const inp = this.passInputs(batch, mask, { micro: opts.micro, keepStats: opts.keepStats ?? opts.training });
    const pass = m.pass({ B, T, save: opts.training, adapters: this.hook(inp) });
    const r = pass.run(batch.ids);
    const acts: StepActs = { B, T, N, groups: inp.groups, pass, blocks: r.blocks, saved: inp.saved, x: r.x, nf: r.nf!, xf: r.xf!, losses: null, dxf: null };
    if (opts.training) this.headAndLoss(acts, batch, opts.lossScale);
    return acts;
  }

  /**
   * The LM head, the masked cross-entropy and the head's input gradient, in chunks of tokens so
   * that the logits never exceed LOGIT_CHUNK_BYTES (Qwen2.5's 151,936-token vocabulary at 512
   * tokens would need 311 MB at once): per chunk, logits = xf·Wᵀ, the fused kernel turns them
   * into dlogits (scaled by lossScale) in place with per-token losses, and dxf = dlogits·W. The
   * chunk's buffers are recycled for the next chunk within the submission.
   */
  private headAndLoss(acts: StepActs, batch: TrainBatch, lossScale: number): void {
    const e = this.e, m = this.model, s = m.spec, N = acts.N, C = s.hidden, V = s.vocabSize, W = m.weight(m.layout.head);
    acts.losses = e.scratch('losses', N * 4);
    acts.dxf = e.scratch('dxf', N * C * 4);
    const rows = Math.max(1, Math.min(N, Math.floor(this.logitChunkBytes / (V * 4))));
    for (let r0 = 0; r0 < N; r0 += rows) {
      const n = Math.min(rows, N - r0), whole = n === N;
      const xin = whole ? acts.xf : e.scratch('xf.chunk', n * C * 4);
      if (!whole) e.copy(acts.xf, xin, n * C * 4, r0 * C * 4, 0);
      const logits = e.scratch('logits.chunk', n * V * 4);
      matmulForward(e, logits, xin, W, null, { M: n, N: V, K: C, transB: true });
      const losses = whole ? acts.losses : e.scratch('losses.chunk', n * 4);
      // dlogits = (softmax − onehot) · lossScale in place; per-token losses for the history.
      crossEntropyBackward(e, logits, losses, e.scratch('train.targets', Int32Array.from(batch.targets.slice(r0, r0 + n))), { N: n, V, count: 1 / lossScale });
      const dxf = whole ? acts.dxf : e.scratch('dxf.chunk', n * C * 4);
      matmulBackwardInput(e, dxf, logits, W, { M: n, N: V, K: C, transB: true });
      if (!whole) {
        e.copy(losses, acts.losses, n * 4, 0, r0 * 4);
        e.copy(dxf, acts.dxf, n * C * 4, 0, r0 * C * 4);
        e.recycle(xin, losses, dxf);
      }
      e.recycle(logits);
    }
  }

  /** The backward pass of a forward's activations into the adapter gradients (`+=`): the schedule's mirror. */
  private backward(acts: StepActs): void {
    const e = this.e, m = this.model, L = m.layout;
    const dx = e.scratch('dx', acts.N * m.spec.hidden * 4);
    e.clear(dx);
    acts.pass.normBackward(dx, acts.dxf!, acts.x, acts.nf, L.finalNorm);
    blocksBackward(L, acts.blocks, dx, acts.pass);
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
    if (this.gated && (!s || s.length !== seqs.length || s.some((r) => r.length !== this.K))) throw new Error(`nextLogits: each sequence needs ${this.K} intuition scores`);
    return this.model.nextLogitsBatch(seqs, (B, T, first) => this.inferenceHook(B, T, s ? s.slice(first, first + B) : null));
  }

  /**
   * The adapters for an inference pass of B sequences of T tokens (the trainer's statistics
   * untouched): evaluation, generation, logits. `s`: each sequence's intuition scores; `onSaved`
   * sees each adapted layer's saved tensors as its forward is recorded (the routing strip).
   */
  inferenceHook(B: number, T: number, s: number[][] | null, onSaved?: (key: string, saved: AdapterSaved) => void): AdapterHook {
    const batch: TrainBatch = { B, T, ids: [], targets: [], s: s ? s.flat() : null };
    const inp = this.passInputs(batch, null, { micro: 1, keepStats: false });
    const hook = this.hook(inp);
    if (!onSaved) return hook;
    // The caller reads a layer's saved tensors (route: p | pk | g per token) as soon as its forward is recorded, before blockDone recycles them.
    return {
      ...hook,
      forward: (out, x, lin, key, accumulate) => {
        hook.forward(out, x, lin, key, accumulate);
        onSaved(key, inp.saved.get(key)!.saved);
      },
    };
  }

  /**
   * Everything a resumed run needs to continue exactly: every adapter tensor's value and AdamW
   * moments (by label), the guard's state, the step count and the loss history rows.
   */
  async saveState(): Promise<TrainerState> {
    // Buffers read back together, a submission and a wait per ~16 MiB (a round trip each used to be
    // one per buffer; the staging buffers stay pooled, so a chunk bounds what a checkpoint keeps).
    const list = this.tensors();
    const step = this.stepCount;
    const reads: Array<{ buffer: GPUBuffer; byteLength: number }> = list.flatMap((t) => [t.value, t.m, t.v].map((buffer) => ({ buffer, byteLength: t.n * 4 })));
    if (this.guard) reads.push({ buffer: this.guard, byteLength: 16 });
    const withHistory = !!this.historyBuf && step > 0;
    if (withHistory) reads.push({ buffer: this.historyBuf!, byteLength: step * this.historyWidth * 4 });
    const got: Float32Array[] = [];
    for (let i = 0; i < reads.length; ) {
      let j = i + 1, bytes = reads[i].byteLength;
      while (j < reads.length && bytes + reads[j].byteLength <= SAVE_CHUNK_BYTES) bytes += reads[j++].byteLength;
      got.push(...(await this.e.readMany(reads.slice(i, j))));
      i = j;
    }
    const tensors: TrainerState['tensors'] = {};
    list.forEach((t, i) => (tensors[t.label] = { value: got[3 * i].slice(), m: got[3 * i + 1].slice(), v: got[3 * i + 2].slice() }));
    const guard = this.guard ? new Uint32Array(got[3 * list.length].slice().buffer) : new Uint32Array(4);
    const history = withHistory ? got[got.length - 1].slice() : new Float32Array(0);
    return { step, tensors, guard, history };
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
    if (this.destroyed) throw new Error('router statistics: this adapter was released (a new run or adapter replaced it)');
    const out = [];
    const layers = [...this.layers].filter(([, l]) => l.stats);
    // One submission for every layer: a new run destroying this adapter meanwhile cannot leave a
    // copy of a destroyed buffer for later (the UI reads these while runs start and stop).
    const values = await this.e.readMany(layers.map(([, l]) => ({ buffer: l.stats! })));
    for (const [i, [key, l]] of layers.entries()) {
      const E = this.E;
      const v = values[i];
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
  readParams(): Promise<Map<string, StackedParams>> {
    return this.readTensors('value', 'adapter parameters');
  }

  /**
   * Every adapted layer's WrA, B, gates and M values or gradients in one submission: a new run
   * destroying this adapter meanwhile cannot leave a copy of a destroyed buffer for later (the UI
   * reads these while runs start and stop; see routerStats).
   */
  private async readTensors(which: 'value' | 'grad', what: string): Promise<Map<string, StackedParams>> {
    if (this.destroyed) throw new Error(`${what}: this adapter was released (a new run or adapter replaced it)`);
    // tensors(): each layer's WrA, B, gates?, M? in layer order, as read back below.
    const vals = await this.e.readMany(this.tensors().map((t) => ({ buffer: t[which], byteLength: t.n * 4 })));
    const out = new Map<string, StackedParams>();
    let i = 0;
    for (const [key, l] of this.layers) out.set(key, { WrA: vals[i++], B: vals[i++], gates: l.gates ? vals[i++] : null, M: l.M ? vals[i++] : null });
    return out;
  }

  /** The adapter parameters as they stand, by METHOD.md's names (export, tests). */
  async adapterParams(): Promise<Map<string, AdapterParams<Float32Array>>> {
    const out = new Map<string, AdapterParams<Float32Array>>();
    for (const [key, p] of await this.readParams()) out.set(key, unstackParams(p, layerSpec(this.cfg, this.layers.get(key)!.lin, 1)));
    return out;
  }

  /**
   * Mean routing weights per expert over the real tokens of each group, per adapted layer, over
   * every batch (batch.task = each sequence's group, e.g. its intuition cluster): forward passes
   * that leave the parameters alone; the router statistics of the last step are overwritten.
   * Returns key → { G: groups x E, tokens: groups }.
   */
  async meanRouting(batches: TrainBatch[], groups: number): Promise<Map<string, { G: Float64Array; tokens: Float64Array }>> {
    if (this.E === 0) throw new Error('mean routing: this adapter has no router (LoRA)');
    const out = new Map<string, { G: Float64Array; tokens: Float64Array }>();
    for (const key of this.layers.keys()) out.set(key, { G: new Float64Array(groups * this.E), tokens: new Float64Array(groups) });
    for (const b of batches) {
      if (!b.task || b.task.some((t) => t >= groups)) throw new Error(`mean routing: every batch needs task labels below ${groups}`);
      this.forward(b, this.checkBatch(b, false), { lossScale: 1, micro: 1, training: false, keepStats: true });
      for (const st of await this.routerStats()) {
        const acc = out.get(st.key)!;
        // Group 0 is every token; group g + 1 is task (here: cluster) g.
        st.groups.slice(1).forEach((g, c) => {
          acc.tokens[c] += g.tokens;
          for (let j = 0; j < this.E; j++) acc.G[c * this.E + j] += g.G[j] * g.tokens;
        });
      }
    }
    for (const acc of out.values())
      for (let c = 0; c < groups; c++) for (let j = 0; j < this.E; j++) acc.G[c * this.E + j] /= Math.max(1, acc.tokens[c]);
    return out;
  }

  /** The gradients of the last step (accumulated, before clipping), per adapted layer, like readParams. */
  readGrads(): Promise<Map<string, StackedParams>> {
    return this.readTensors('grad', 'adapter gradients');
  }

  private destroyed = false;

  destroy(): void {
    this.destroyed = true;
    for (const t of this.tensors()) for (const b of [t.value, t.grad, t.m, t.v]) b.destroy();
    for (const l of this.layers.values()) l.stats?.destroy();
    for (const b of [...this.retired, ...(this.historyBuf ? [this.historyBuf] : []), ...(this.microLoss ? [this.microLoss] : []), ...(this.guard ? [this.guard] : [])]) b.destroy();
  }
}
