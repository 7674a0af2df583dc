// Training-step benchmark (shared by the browser page and the Node runner): one optimiser step
// (forward with the adapters, masked cross-entropy, backward into the adapter gradients, the
// guard and AdamW) per method on a loaded model, as tokens per second and as achieved FLOP/s
// divided by the matmul kernel's FLOP/s measured in the same run on the same device.
//
// A step's FLOPs, from the model's shapes (N = B·T tokens; the base weights are frozen, so the
// backward computes input gradients only, no weight gradients):
//   base linears and LM head   2·N·Σ(in·out)  forward, the same again for dx
//   attention                  2·2·B·NH·D·T(T+1)/2 forward (QKᵀ and PV over the causal half),
//                              twice that backward (recomputed P, then dQ, dK, dV)
//   adapters                   2·N·(rows of [W_r; A])·in + 2·N·out·rB forward, 2x that backward
//                              (dx and the parameter gradients)
// Element-wise work (norms, activations, RoPE, softmax, routing, AdamW) is not counted.
import type { Engine } from '../src/gpu/engine.ts';
import type { GpuModel } from '../src/model/gpuModel.ts';
import { GpuTrainer, initAdapterParams } from '../src/train/trainer.ts';
import { adaptedLayers, layerSpec, withDefaults, type AdapterConfig, type TrainBatch } from '../src/train/config.ts';
import { adapterDims, adapterParamCount } from '../src/adapters/spec.ts';
import { gflops, round, timeRuns } from './timing.ts';
import { benchOurMatmul, MATMUL_SHAPES } from './matmul.ts';
import type { ResultRow } from './results.mjs';
import { normTuning } from '../src/ops/norm.ts';
import { attentionTuning } from '../src/ops/attention.ts';
import { gateTuning } from '../src/ops/adapter.ts';

export const TRAIN_METHODS: AdapterConfig[] = [
  withDefaults({ method: 'trex', topk: null }),
  withDefaults({ method: 'trex', topk: 8 }),
  withDefaults({ method: 'mor1e' }),
  withDefaults({ method: 'lora' }),
  withDefaults({ method: 'molora' }),
  withDefaults({ method: 'sira' }),
];

/** FLOPs of one training step (see the header). */
export function trainStepFlops(model: GpuModel, cfg: AdapterConfig, B: number, T: number): number {
  const s = model.spec, N = B * T;
  let base = 0;
  for (const blk of model.layout.blocks) for (const lin of [blk.qkv, blk.q, blk.k, blk.v, blk.o, blk.fc, blk.proj, blk.gate, blk.up, blk.down]) if (lin) base += lin.in * lin.out;
  const dense = 2 * N * (base + s.hidden * s.vocabSize) * 2;
  const attn = 2 * 2 * B * s.heads * s.headDim * ((T * (T + 1)) / 2) * s.layers * 3;
  let adapter = 0;
  for (const { lin } of adaptedLayers(s, cfg)) {
    const d = adapterDims(layerSpec(cfg, lin, N));
    adapter += (2 * N * (d.E + d.rA) * lin.in + 2 * N * lin.out * d.rB) * 3;
  }
  return dense + attn + adapter;
}

export interface TrainBenchModel {
  name: string;
  model: GpuModel;
  B: number;
  T: number;
  /** Methods to time (default TRAIN_METHODS). */
  methods?: AdapterConfig[];
}

/**
 * The denominator of `fraction_of_matmul`: our matmul kernel's best FLOP/s among the square
 * benchmark shapes 512³ and 1024³, measured now on this device (median of `runs` each).
 */
export async function bestMatmulGflops(engine: Engine, runs: number): Promise<{ gflops: number; shape: string }> {
  let best = { gflops: 0, shape: '' };
  for (const s of MATMUL_SHAPES.filter((x) => x.name === '512' || x.name === '1024')) {
    const g = gflops(2 * s.M * s.N * s.K, (await benchOurMatmul(engine, s, 'tiled', runs)).medianMs);
    if (g > best.gflops) best = { gflops: g, shape: `${s.name}³` };
  }
  return best;
}

/** The benchmark's batch: pseudo-random tokens; every position after the first quarter (but the last) is a target; intuition scores sin(i). */
export function trainBatch(model: GpuModel, cfg: AdapterConfig, B: number, T: number): TrainBatch {
  const V = model.spec.vocabSize;
  const ids = Array.from({ length: B * T }, (_, i) => (i * 7919 + 13) % V);
  const targets = ids.map((_, i) => (i % T < T / 4 || i % T === T - 1 ? -100 : ids[i + 1]));
  const d = adapterDims(layerSpec(cfg, adaptedLayers(model.spec, cfg)[0].lin, 1));
  return { B, T, ids, targets, s: d.gated ? Array.from({ length: B * d.k }, (_, i) => Math.sin(i)) : null };
}

export const TRAIN_HYPER = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, maxNorm: 1 };

export function methodLabel(cfg: AdapterConfig): string {
  if (cfg.method === 'trex') return `trex ${cfg.r1}x${cfg.r2} ${cfg.topk ? `top-${cfg.topk}` : 'dense'}`;
  if (cfg.method === 'mor1e') return `mor1e E=${cfg.E} ${cfg.topk ? `top-${cfg.topk}` : 'dense'}`;
  return `${cfg.method} r=${cfg.r}`;
}

/** Trainable parameters of a config on a model. */
export function trainableParams(model: GpuModel, cfg: AdapterConfig): number {
  return adaptedLayers(model.spec, cfg).reduce((n, { lin }) => n + adapterParamCount(layerSpec(cfg, lin, 1)), 0);
}

/**
 * One row per method of `m` (default TRAIN_METHODS): `measure` gets the method's config, a fresh
 * trainer (parameters from seed 1) and the benchmark batch; the trainer is destroyed after.
 */
async function perMethod(
  engine: Engine, m: TrainBenchModel, measure: (cfg: AdapterConfig, trainer: GpuTrainer, batch: TrainBatch) => Promise<ResultRow>,
): Promise<ResultRow[]> {
  const rows: ResultRow[] = [];
  for (const cfg of m.methods ?? TRAIN_METHODS) {
    const trainer = new GpuTrainer(engine, m.model, cfg, initAdapterParams(m.model, cfg, 1));
    try {
      rows.push(await measure(cfg, trainer, trainBatch(m.model, cfg, m.B, m.T)));
    } finally {
      trainer.destroy();
    }
  }
  return rows;
}

/** Tokens/s and FLOP/s of one training step per method; `matmulGflops`: the same run's matmul figure. */
export async function benchTrainStep(engine: Engine, adapter: string, m: TrainBenchModel, matmulGflops: number, runs: number): Promise<ResultRow[]> {
  const { model, B, T } = m;
  return perMethod(engine, m, async (cfg, trainer, batch) => {
    // The host's share: a step (one micro-batch) records everything, forward, backward and update,
    // before its first await, so the time until step() returns its promise is the step's recording
    // (encoding, flushes and the final submit). In a browser that is the page's side only: Dawn's
    // own work happens in the GPU process, and step_ms is what counts there.
    const record: number[] = [];
    let dispatches = 0, recorded = 0, created = 0, reused = 0;
    const t = await timeRuns(async () => {
      const d0 = engine.dispatches, c0 = engine.bindGroupsCreated, r0 = engine.bindGroupsReused, t0 = performance.now();
      const done = trainer.step(batch, TRAIN_HYPER);
      record.push(performance.now() - t0);
      recorded = engine.dispatches - d0;
      await done;
      dispatches = engine.dispatches - d0;
      // Bind groups of the timed steps (the last call's: the first, a warm-up, creates them all).
      created = engine.bindGroupsCreated - c0;
      reused = engine.bindGroupsReused - r0;
    }, { runs, warmup: 1 });
    const recordMs = record.slice(1).sort((a, b) => a - b)[Math.floor((record.length - 1) / 2)];
    // A checkpoint's GPU side: every adapter tensor with its AdamW moments, the guard and the loss history read back.
    const ck = await timeRuns(async () => void (await trainer.saveState()), { runs, warmup: 1 });
    const gf = trainStepFlops(model, cfg, B, T) / (t.medianMs * 1e6);
    return {
      bench: 'train_step', shape: `${m.name} B=${B} T=${T}`, method: methodLabel(cfg), adapter, trainable_params: trainableParams(model, cfg),
      step_ms: round(t.medianMs, 4), tokens_per_s: round((B * T) / (t.medianMs / 1000)), gflops: round(gf), matmul_gflops: round(matmulGflops),
      fraction_of_matmul: round(gf / matmulGflops), record_ms: round(recordMs, 3), dispatches, record_us_per_dispatch: round((recordMs * 1000) / recorded),
      bind_groups_reused: round(reused / Math.max(1, created + reused)), checkpoint_ms: round(ck.medianMs, 3), runs,
    };
  });
}

/** Kernels listed per profile row (the rest are summed into `other_ms`). */
const PROFILE_TOP = 15;

/**
 * Where a training step's GPU time goes: each method's step (after a warm-up step) timed kernel by
 * kernel with timestamp queries (Engine.startProfile), averaged over `runs` steps. `kernel_ms` is
 * the kernels' sum; `step_ms` the profiled step's wall time (clears, copies, host work and the
 * per-dispatch passes of profiling make up the difference). `byGrid`: each (kernel, workgroup
 * grid) apart (the rows then go to the console only, not to bench/results.json).
 */
export async function profileTrainStep(engine: Engine, adapter: string, m: TrainBenchModel, runs: number, byGrid = false): Promise<ResultRow[]> {
  const { B, T } = m;
  return perMethod(engine, m, async (cfg, trainer, batch) => {
    await trainer.step(batch, TRAIN_HYPER);
    const d0 = engine.dispatches;
    engine.startProfile({ byGrid });
    const t0 = performance.now();
    try {
      for (let i = 0; i < runs; i++) await trainer.step(batch, TRAIN_HYPER);
    } catch (e) {
      // A failed step must not leave the engine profiling for the rest of the run.
      await engine.stopProfile();
      throw e;
    }
    const wall = (performance.now() - t0) / runs;
    const kernels = await engine.stopProfile();
    const total = kernels.reduce((a, k) => a + k.ms, 0) / runs;
    const top = kernels.slice(0, PROFILE_TOP).map((k) => ({ kernel: k.kernel, calls: k.calls / runs, ms: round(k.ms / runs, 3), share: round(k.ms / runs / total, 2) }));
    return {
      bench: 'train_profile', shape: `${m.name} B=${B} T=${T}`, method: methodLabel(cfg), adapter,
      step_ms: round(wall, 4), kernel_ms: round(total, 4), dispatches: (engine.dispatches - d0) / runs, kernels: top,
      other_ms: round(kernels.slice(PROFILE_TOP).reduce((a, k) => a + k.ms, 0) / runs, 3), runs,
    };
  });
}

/**
 * Runs `fn` with the GPU's work split forced for the kernels that pick theirs by adapter: the
 * norms (256 lanes per row), attention (a workgroup per query) and adapter_gate_backward (one
 * element per thread). On a CPU fallback adapter that is how those kernels ran before they had a
 * CPU split; on a GPU it changes nothing.
 */
async function withGpuSplit<T>(fn: () => Promise<T>): Promise<T> {
  normTuning.lanes = 256;
  attentionTuning.split = 'workgroup';
  gateTuning.elems = 1;
  try {
    return await fn();
  } finally {
    normTuning.lanes = 0;
    attentionTuning.split = 'auto';
    gateTuning.elems = 0;
  }
}

/**
 * A training step with the device's own work split against the GPU's (withGpuSplit), alternating
 * step by step on one trainer per method, so both medians share the machine's load: on a CPU
 * fallback adapter, what the CPU splits gain (`gpu_split_ms / step_ms`).
 */
export async function benchWorkSplit(engine: Engine, adapter: string, m: TrainBenchModel, runs: number): Promise<ResultRow[]> {
  const { B, T } = m;
  return perMethod(engine, m, async (cfg, trainer, batch) => {
    const own: number[] = [], gpu: number[] = [];
    const time = async (into: number[]) => {
      const t0 = performance.now();
      await trainer.step(batch, TRAIN_HYPER);
      into.push(performance.now() - t0);
    };
    // Warm-up: both splits' pipelines compiled, the pool filled.
    await trainer.step(batch, TRAIN_HYPER);
    await withGpuSplit(() => trainer.step(batch, TRAIN_HYPER));
    for (let i = 0; i < runs; i++) {
      await time(own);
      await withGpuSplit(() => time(gpu));
    }
    const median = (a: number[]) => a.sort((x, y) => x - y)[Math.floor(a.length / 2)];
    return {
      bench: 'train_split', shape: `${m.name} B=${B} T=${T}`, method: methodLabel(cfg), adapter,
      step_ms: round(median(own), 4), gpu_split_ms: round(median(gpu), 4), speedup: round(median(gpu) / median(own)), runs,
    };
  });
}
