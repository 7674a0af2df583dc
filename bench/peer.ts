// Our training step against jax-js's (bench/jax.ts) on the same GPT-2, the same weights, the
// same batch and the same starting adapter tensors, in one page on one adapter: first both take
// two steps from identical tensors and the losses and gradient norms are compared (the check that
// the peer computes what we compute), then the steps are timed alternately, ours then theirs, so
// load on the machine hits both alike. Browser only (jax-js runs WebGPU in a browser).
import type { Engine } from '../src/gpu/engine.ts';
import { GpuModel } from '../src/model/gpuModel.ts';
import { openModel, readTensor } from '../src/model/load.ts';
import type { ModelFiles } from '../src/model/sources.ts';
import { GpuTrainer, initAdapterParams } from '../src/train/trainer.ts';
import { adaptedLayers, layerSpec, withDefaults } from '../src/train/config.ts';
import { adapterDims } from '../src/adapters/spec.ts';
import { rng } from '../src/util/random.ts';
import { initJax, jaxGptTrainer, type HostTrexLayer } from './jax.ts';
import { methodLabel, trainableParams, trainBatch, trainStepFlops, TRAIN_HYPER } from './train.ts';
import { round } from './timing.ts';
import type { ResultRow } from './results.mjs';

/**
 * Dispatches and workgroups our engine records while `fn` runs, by kernel, and each kernel's
 * share of the GPU time: every dispatch is sent as its own submission and timed from its start
 * (its submission, or the previous one's completion if later) to its `onSubmittedWorkDone`. The
 * queue runs submissions in order, so on a CPU adapter this splits the step by kernel (a
 * diagnostic, run on an untimed step: one submission per dispatch is not how the step runs).
 */
async function dispatchCensus(engine: Engine, fn: () => Promise<void>): Promise<{ dispatches: number; workgroups: number; top: string }> {
  const by = new Map<string, { n: number; wg: number; ms: number }>();
  const done: Array<Promise<void>> = [];
  let last = 0;
  const orig = engine.dispatch;
  engine.dispatch = function (kernel, args) {
    const [x, y = 1, z = 1] = args.workgroups;
    const e = by.get(kernel.name) ?? { n: 0, wg: 0, ms: 0 };
    e.n++;
    e.wg += x * y * z;
    by.set(kernel.name, e);
    orig.call(this, kernel, args);
    engine.flush();
    const sent = performance.now();
    done.push(engine.ctx.device.queue.onSubmittedWorkDone().then(() => {
      const now = performance.now();
      e.ms += now - Math.max(sent, last);
      last = now;
    }));
  };
  try {
    await fn();
    await Promise.all(done);
  } finally {
    engine.dispatch = orig;
  }
  const all = [...by.entries()].sort((a, b) => b[1].ms - a[1].ms);
  const total = all.reduce((a, [, e]) => a + e.ms, 0);
  return {
    dispatches: all.reduce((a, [, e]) => a + e.n, 0),
    workgroups: all.reduce((a, [, e]) => a + e.wg, 0),
    top: `${Math.round(total)} ms in all; ` + all.slice(0, 10).map(([k, e]) => `${k} ${e.n}x ${e.wg} wg ${Math.round(e.ms)} ms (${((100 * e.ms) / total).toFixed(0)}%)`).join(', '),
  };
}

const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

export async function benchTrainPeer(
  engine: Engine, adapter: string, files: ModelFiles, name: string, matmul: { gflops: number; shape: string },
  opts: { B: number; T: number; runs: number }, log: (s: string) => void,
): Promise<ResultRow[]> {
  const jaxAdapter = await initJax();
  const { B, T, runs } = opts;
  const opened = await openModel(files);
  const model = await GpuModel.load(engine, opened);
  const cfg = withDefaults({ method: 'trex', topk: null });
  const d = adapterDims(layerSpec(cfg, adaptedLayers(model.spec, cfg)[0].lin, 1));
  // METHOD.md's initialisation (B = 0, W_r = 0, gates 0) makes the adapters a no-op at step 0 and
  // gives only B a gradient; to check every term, both sides start from the same non-zero B,
  // W_r and gates (A as initialised).
  const init = initAdapterParams(model, cfg, 1);
  const r = rng(2);
  const small = (a: Float64Array) => a.map(() => (r() * 2 - 1) * 0.05);
  for (const p of init.values()) {
    p.B = small(p.B);
    p.Wr = small(p.Wr!);
    p.wOmega = Float64Array.of(0.004);
    p.wBeta = Float64Array.of(-0.003);
  }
  const f32 = (a: Float64Array | null) => Float32Array.from(a!);
  const layers = adaptedLayers(model.spec, cfg).map(({ key, lin }) => {
    const p = init.get(key)!;
    const host: HostTrexLayer = { A: f32(p.A), Wr: f32(p.Wr), B: f32(p.B), wOmega: p.wOmega![0], wBeta: p.wBeta![0] };
    return { key, n: lin.in, m: lin.out, init: host };
  });
  const weights = new Map<string, Float32Array>();
  for (const w of opened.layout.shapes.keys()) weights.set(w, await readTensor(opened, w));
  const batch = trainBatch(model, cfg, B, T);
  const ours = new GpuTrainer(engine, model, cfg, init);
  const theirs = await jaxGptTrainer({
    spec: model.spec, layout: opened.layout, weights, layers, r1: cfg.r1!, r2: cfg.r2!, B, T, ids: batch.ids, targets: batch.targets, s: batch.s!, hyper: TRAIN_HYPER,
  });
  try {
    // Two steps each from the same tensors: step 1's loss checks the forward, its gradient norm
    // the backward, step 2's loss the clipped AdamW update.
    await ours.step(batch, TRAIN_HYPER);
    const census = await dispatchCensus(engine, () => ours.step(batch, TRAIN_HYPER));
    log(`our step's dispatches: ${census.dispatches} (${census.workgroups} workgroups); by kernel: ${census.top}`);
    const h = await ours.history();
    const j = [await theirs.step(), await theirs.step()];
    const check = {
      loss0_ours: h[0].loss, loss0_jax: j[0].loss, grad_norm0_ours: h[0].gradNorm, grad_norm0_jax: j[0].gradNorm, loss1_ours: h[1].loss, loss1_jax: j[1].loss,
    };
    log(`train_step_peer check: ${JSON.stringify(check)}`);
    // Timed: alternating, one step each per round (both warmed up by the checks above).
    const oursMs: number[] = [], jaxMs: number[] = [];
    for (let i = 0; i < runs; i++) {
      let t0 = performance.now();
      await ours.step(batch, TRAIN_HYPER);
      oursMs.push(performance.now() - t0);
      t0 = performance.now();
      await theirs.stepNoRead();
      jaxMs.push(performance.now() - t0);
    }
    const o = median(oursMs), t = median(jaxMs), flops = trainStepFlops(model, cfg, B, T);
    const gfO = flops / (o * 1e6), gfJ = flops / (t * 1e6);
    return [{
      bench: 'train_step_peer', shape: `${name} B=${B} T=${T}`, method: methodLabel(cfg), adapter, jax_adapter: jaxAdapter, trainable_params: trainableParams(model, cfg),
      ours_step_ms: round(o, 4), jax_step_ms: round(t, 4),
      ours_tokens_per_s: round((B * T) / (o / 1000)), jax_tokens_per_s: round((B * T) / (t / 1000)), ours_vs_jax: round(t / o),
      ours_gflops: round(gfO), jax_gflops: round(gfJ), matmul_gflops: round(matmul.gflops), matmul_shape: matmul.shape,
      ours_fraction_of_matmul: round(gfO / matmul.gflops), jax_fraction_of_matmul: round(gfJ / matmul.gflops),
      loss0_ours: round(check.loss0_ours, 7), loss0_jax: round(check.loss0_jax, 7), loss0_abs_diff: round(Math.abs(check.loss0_ours - check.loss0_jax), 2),
      grad_norm0_rel_diff: round(Math.abs(check.grad_norm0_ours - check.grad_norm0_jax) / check.grad_norm0_ours, 2),
      loss1_abs_diff: round(Math.abs(check.loss1_ours - check.loss1_jax), 2), intuition_width: d.E,
      optimizer: 'AdamW + global-norm clip 1 (both)', ours_dispatches_per_step: census.dispatches, runs,
    }];
  } finally {
    theirs.destroy();
    ours.destroy();
    model.destroy();
  }
}
