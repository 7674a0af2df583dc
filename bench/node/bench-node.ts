// npm run bench:node: the matmul benchmark in Node through Dawn (the `webgpu` package), for
// machines with a GPU but no browser. Bundled by scripts/build-node-bench.mjs into
// bench/dist/bench-node.mjs. Env: DAWN_NODE=path/to/dawn.node to load Dawn without
// node_modules; MOR1E_SHADERS=path/to/shaders; BENCH_RUNS (default 5); BENCH_SHAPES=512,1024;
// BENCH_ONLY=matmul,skinny,decode,attention,cross_entropy,safetensors,forward,adapter,kmeans,train,profile
// (train: our training step per method on the bundled model, T-REX on it at B = 1, T = 16 (the host's
// cost of a step) and T-REX on a SmolLM2-135M-shaped model, as in the page but without the jax-js
// peer, which needs a browser; BENCH_SHAPES=tiny,host,smollm2 picks)
// (profile: where each method's training step on the bundled model, B = 8, T = 64, spends its GPU
// time, kernel by kernel, from timestamp queries; on a CPU adapter also T-REX's and LoRA's step
// with the CPU work splits against the GPU's, alternating; BENCH_PROFILE_GRID=1: T-REX's profile
// per (kernel, workgroup grid), printed only)
// (BENCH_SHAPES also picks skinny rows, 1x576x576t,16x1536x576, and k-means shapes: 1000x384,50000x768).
import { fileURLToPath } from 'node:url';
import { acquireDevice, adapterName, GpuUnavailableError, isCpuAdapter } from '../../src/gpu/device.ts';
import { dawnGpu, DAWN_HINT } from '../../src/gpu/dawn.node.ts';
import { Engine } from '../../src/gpu/engine.ts';
import { loadShaders } from '../../src/gpu/shaders.node.ts';
import { benchOurMatmul, benchSkinny, MATMUL_SHAPES } from '../matmul.ts';
import { gflops, round } from '../timing.ts';
import { benchAttention, benchCrossEntropy, SEQ_LENGTHS } from '../transformer.ts';
import { benchDecodePaths, benchForward, benchSafetensors, smolLM2ShapeFiles } from '../model.ts';
import { bestMatmulGflops, benchTrainStep, benchWorkSplit, profileTrainStep, TRAIN_METHODS } from '../train.ts';
import { openModel } from '../../src/model/load.ts';
import { GpuModel } from '../../src/model/gpuModel.ts';
import { benchAdapters } from '../adapter.ts';
import { benchKmeans } from '../kmeans.ts';
import { filesFromBlobs } from '../../src/model/sources.ts';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { mergeRows, type ResultRow } from '../results.mjs';

// bench/results.json, from this file (bench/node/) and from its bundle (bench/dist/) alike: the
// bundle's copy of results.mjs would otherwise resolve its own path to bench/dist/results.json.
const RESULTS = new URL('../results.json', import.meta.url);

async function main(): Promise<number> {
  const gpu = await dawnGpu();
  let ctx;
  try {
    ctx = await acquireDevice(gpu);
  } catch (e) {
    if (e instanceof GpuUnavailableError) {
      console.error(
        `bench:node: no WebGPU adapter in Node (Dawn): ${e.reason}.\n${DAWN_HINT} Nothing was measured.`,
      );
      return 2;
    }
    throw e;
  }
  const shaderDir = process.env.MOR1E_SHADERS ?? fileURLToPath(new URL('../../shaders', import.meta.url));
  const engine = new Engine(ctx, loadShaders(shaderDir));
  const adapter = adapterName(ctx.adapter);
  console.log(`bench:node: adapter ${adapter}; features ${ctx.features.join(', ') || 'none'}`);
  const runs = Number(process.env.BENCH_RUNS ?? 5);
  const only = process.env.BENCH_SHAPES?.split(',');
  const benches = (process.env.BENCH_ONLY ?? 'matmul,skinny,decode,attention,cross_entropy,safetensors,forward,adapter,kmeans,train,profile').split(',');
  const rows: ResultRow[] = [];
  for (const s of MATMUL_SHAPES.filter((x) => benches.includes('matmul') && (!only || only.includes(x.name)))) {
    const flops = 2 * s.M * s.N * s.K;
    const ours = await benchOurMatmul(engine, s, 'tiled', runs);
    const naive = await benchOurMatmul(engine, s, 'naive', runs);
    const row: ResultRow = {
      bench: 'matmul',
      shape: `${s.M}x${s.K} · ${s.K}x${s.N}`,
      adapter,
      runner: 'node-dawn',
      ours_gflops: round(gflops(flops, ours.medianMs)),
      naive_gflops: round(gflops(flops, naive.medianMs)),
      ratio_vs_naive: round(naive.medianMs / ours.medianMs),
      ours_ms: round(ours.medianMs, 4),
      runs,
    };
    console.log(JSON.stringify(row));
    rows.push(row);
    mergeRows([row], RESULTS);
  }
  const push = (r: ResultRow) => {
    const row = { ...r, runner: 'node-dawn' };
    console.log(JSON.stringify(row));
    rows.push(row);
    // Each row lands in bench/results.json as it is measured: a run stopped by a time limit keeps them.
    mergeRows([row], RESULTS);
  };
  const folder = (dir: string) => filesFromBlobs(readdirSync(dir).map((f) => ({ name: f, blob: new Blob([readFileSync(join(dir, f))]) })));
  // The training step first after the matmul (its fraction needs the matmul's best): on a timed
  // lease the rows that matter most come before the long tail.
  if (benches.includes('train')) {
    const matmul = await bestMatmulGflops(engine, runs);
    const parts = only?.filter((x) => ['tiny', 'host', 'smollm2'].includes(x));
    const want = (p: string) => !parts?.length || parts.includes(p);
    const fixture = fileURLToPath(new URL('../../e2e/fixtures/models/tiny-llama', import.meta.url));
    const models = [
      ...(want('tiny') ? [{ name: 'mor1e-tiny', files: async () => folder(fileURLToPath(new URL('../../public/models/mor1e-tiny', import.meta.url))), B: 8, T: 64, methods: TRAIN_METHODS }] : []),
      ...(want('host') ? [{ name: 'mor1e-tiny', files: async () => folder(fileURLToPath(new URL('../../public/models/mor1e-tiny', import.meta.url))), B: 1, T: 16, methods: [TRAIN_METHODS[0]] }] : []),
      ...(want('smollm2') ? [{ name: 'SmolLM2-135M shape', files: () => smolLM2ShapeFiles(async (f) => new Blob([readFileSync(join(fixture, f))])), B: 1, T: 64, methods: [TRAIN_METHODS[0]] }] : []),
    ];
    for (const m of models) {
      const model = await GpuModel.load(engine, await openModel(await m.files()));
      try {
        for (const r of await benchTrainStep(engine, adapter, { name: m.name, model, B: m.B, T: m.T, methods: m.methods }, matmul.gflops, Math.min(runs, 3))) push({ ...r, matmul_shape: matmul.shape });
      } finally {
        model.destroy();
      }
    }
  }
  if (benches.includes('profile')) {
    if (!ctx.features.includes('timestamp-query')) console.log('bench:node: no profile rows: this adapter has no "timestamp-query" feature');
    else {
      const model = await GpuModel.load(engine, await openModel(await folder(fileURLToPath(new URL('../../public/models/mor1e-tiny', import.meta.url)))));
      try {
        const m = { name: 'mor1e-tiny', model, B: 8, T: 64 };
        const grid = Boolean(process.env.BENCH_PROFILE_GRID);
        if (grid) for (const r of await profileTrainStep(engine, adapter, { ...m, methods: [TRAIN_METHODS[0]] }, Math.min(runs, 2), true)) console.log(JSON.stringify(r));
        else for (const r of await profileTrainStep(engine, adapter, m, Math.min(runs, 2))) push(r);
        // On a CPU adapter: the CPU work splits against the GPU's, side by side (a GPU has one split).
        if (!grid && isCpuAdapter(ctx.adapter)) for (const r of await benchWorkSplit(engine, adapter, { ...m, methods: [TRAIN_METHODS[0], TRAIN_METHODS[3]] }, Math.min(runs, 3))) push(r);
      } finally {
        model.destroy();
      }
    }
  }
  if (benches.includes('skinny')) for (const r of await benchSkinny(engine, adapter, { shapes: only, runs })) push(r);
  if (benches.includes('decode')) {
    const files = folder(fileURLToPath(new URL('../../public/models/mor1e-tiny', import.meta.url)));
    for (const r of await benchDecodePaths(engine, adapter, files, 'mor1e-tiny', { runs: Math.min(runs, 3) })) push(r);
  }
  for (const T of SEQ_LENGTHS) {
    if (benches.includes('attention')) push(await benchAttention(engine, adapter, T, runs));
    if (benches.includes('cross_entropy')) push(await benchCrossEntropy(engine, adapter, T, runs));
  }
  if (benches.includes('safetensors')) for (const dt of ['F32', 'BF16'] as const) push(await benchSafetensors(engine, adapter, dt, runs));
  if (benches.includes('forward')) {
    const dir = process.env.MOR1E_MODEL_DIR ?? fileURLToPath(new URL('../../e2e/fixtures/models/tiny-gpt2', import.meta.url));
    for (const r of await benchForward(engine, adapter, folder(dir), 'tiny-gpt2', runs)) push(r);
  }
  if (benches.includes('adapter')) for (const r of await benchAdapters(engine, adapter, runs)) push(r);
  if (benches.includes('kmeans')) for (const r of await benchKmeans(engine, adapter, { shapes: only, runs }, () => {})) push(r);
  if (engine.errors.length) throw new Error(`GPU errors: ${engine.errors.map((e) => e.message).join('; ')}`);
  console.table(rows);
  engine.destroy();
  return 0;
}

// Ctrl-C or `timeout -s INT`: exit normally, so that rows already merged stay and node --cpu-prof
// still writes its profile (a process killed by the signal writes none).
process.on('SIGINT', () => process.exit(130));

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
