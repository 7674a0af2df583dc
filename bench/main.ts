// Benchmark page: our kernels against tfjs-backend-webgpu on the same GPUDevice, in one page,
// so every ratio is measured side by side. Driven by bench/run.mjs through window.bench.
import * as tf from '@tensorflow/tfjs-core';
import { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { acquireDevice, adapterName } from '../src/gpu/device.ts';
import { Engine } from '../src/gpu/engine.ts';
import { SHADERS } from '../src/gpu/shaders.ts';
import { benchOurMatmul, benchSkinny, MATMUL_SHAPES, randomData, type MatmulBenchShape } from './matmul.ts';
import { gflops, round, timeRuns } from './timing.ts';
import { benchAttention, benchCrossEntropy, SEQ_LENGTHS } from './transformer.ts';
import { benchDecodePaths, benchForward, benchSafetensors, smolLM2ShapeFiles } from './model.ts';
import { benchAdapters } from './adapter.ts';
import { benchKmeans, benchKmeansAssign } from './kmeans.ts';
import { benchEmbed } from './embed.ts';
import { bestMatmulGflops, benchTrainStep, TRAIN_METHODS } from './train.ts';
import { benchJaxMatmul, initJax } from './jax.ts';
import { benchTrainPeer } from './peer.ts';
import { openModel } from '../src/model/load.ts';
import { GpuModel } from '../src/model/gpuModel.ts';
import { filesFromUrl } from '../src/model/sources.ts';
import type { ResultRow as BenchRow } from './results.mjs';
import type { DataBenchRequest, DataBenchResult } from './dataWorker.ts';

/** Runs the dataset import benchmark in a fresh worker (as the app imports data). */
function dataBench(req: DataBenchRequest): Promise<DataBenchResult> {
  const worker = new Worker(new URL('./dataWorker.ts', import.meta.url), { type: 'module' });
  return new Promise<DataBenchResult>((resolve, reject) => {
    worker.onmessage = (e) => (e.data.ok ? resolve(e.data.result) : reject(new Error(e.data.error)));
    worker.onerror = (e) => reject(new Error(e.message));
    worker.postMessage(req);
  }).finally(() => worker.terminate());
}

export interface BenchOptions {
  shapes?: string[];
  runs?: number;
  naive?: boolean;
}

declare global {
  interface Window {
    bench?: { adapter: string; run(name: string, opts?: BenchOptions): Promise<BenchRow[]> };
    benchError?: string;
  }
}

const status = document.getElementById('status')!;
const log = (s: string) => {
  status.textContent += `\n${s}`;
  console.log(s);
};

async function tfjsMatmul(backend: WebGPUBackend, device: GPUDevice, s: MatmulBenchShape, runs: number) {
  const a = tf.tensor2d(randomData(s.M * s.K, 1), [s.M, s.K]);
  const b = tf.tensor2d(randomData(s.K * s.N, 2), [s.K, s.N]);
  try {
    return await timeRuns(async () => {
      const c = tf.matMul(a, b);
      backend.endComputePassEncoder();
      backend.submitQueue();
      await device.queue.onSubmittedWorkDone();
      c.dispose();
    }, { runs });
  } finally {
    a.dispose();
    b.dispose();
  }
}

async function main() {
  const ctx = await acquireDevice(navigator.gpu);
  const engine = new Engine(ctx, SHADERS);
  const adapter = adapterName(ctx.adapter);
  const backend = new WebGPUBackend(ctx.device, undefined);
  // tfjs registers its kernels under the name 'webgpu': swap that name's factory for one that
  // returns a backend on our device, so both run on the same GPUDevice.
  tf.removeBackend('webgpu');
  tf.registerBackend('webgpu', () => backend);
  await tf.setBackend('webgpu');

  const benches: Record<string, (o: BenchOptions) => Promise<BenchRow[]>> = {
    async matmul({ shapes, runs = 5, naive = true }) {
      const rows: BenchRow[] = [];
      for (const s of MATMUL_SHAPES.filter((x) => !shapes || shapes.includes(x.name))) {
        const flops = 2 * s.M * s.N * s.K;
        const ours = await benchOurMatmul(engine, s, 'tiled', runs);
        const theirs = await tfjsMatmul(backend, ctx.device, s, runs);
        // The strongest browser peer: jax-js (its own GPUDevice on the same adapter, same page).
        const jaxAdapter = await initJax();
        const jax = await benchJaxMatmul(s, runs);
        const row: BenchRow = {
          bench: 'matmul',
          shape: `${s.M}x${s.K} · ${s.K}x${s.N}`,
          adapter,
          ours_gflops: round(gflops(flops, ours.medianMs)),
          tfjs_gflops: round(gflops(flops, theirs.medianMs)),
          ratio: round(theirs.medianMs / ours.medianMs),
          ours_ms: round(ours.medianMs, 4),
          tfjs_ms: round(theirs.medianMs, 4),
          jax_gflops: round(gflops(flops, jax.medianMs)),
          ours_vs_jax: round(jax.medianMs / ours.medianMs),
          jax_ms: round(jax.medianMs, 4),
          jax_adapter: jaxAdapter,
          runs,
        };
        if (naive) {
          const base = await benchOurMatmul(engine, s, 'naive', runs);
          row.naive_gflops = round(gflops(flops, base.medianMs));
          row.naive_ms = round(base.medianMs, 4);
        }
        log(JSON.stringify(row));
        rows.push(row);
      }
      return rows;
    },
    async attention({ runs = 5 }) {
      const rows: BenchRow[] = [];
      for (const T of SEQ_LENGTHS) rows.push(await benchAttention(engine, adapter, T, runs));
      rows.forEach((r) => log(JSON.stringify(r)));
      return rows;
    },
    async cross_entropy({ runs = 5 }) {
      const rows: BenchRow[] = [];
      for (const T of SEQ_LENGTHS) rows.push(await benchCrossEntropy(engine, adapter, T, runs));
      rows.forEach((r) => log(JSON.stringify(r)));
      return rows;
    },
  };

  Object.assign(benches, {
    // Skinny-M matmuls (M = 1, 4, 16 at SmolLM2-135M widths): tiled vs skinny kernel, side by
    // side. --shapes 1x576x576t,16x1536x576 picks rows (t: B stored N x K).
    async skinny({ shapes, runs = 5 }: BenchOptions) {
      const rows = await benchSkinny(engine, adapter, { shapes, runs });
      rows.forEach((r) => log(JSON.stringify(r)));
      return rows;
    },
    // KV-cache decode on the bundled model, the old tiled path vs the skinny one.
    async decode({ runs = 3 }: BenchOptions) {
      const rows = await benchDecodePaths(engine, adapter, filesFromUrl('/models/mor1e-tiny/'), 'mor1e-tiny', { runs });
      rows.forEach((r) => log(JSON.stringify(r)));
      return rows;
    },
    // The same on a SmolLM2-135M-shaped model with random weights (on request only: the tiled
    // path takes seconds per token on SwiftShader). Short: a 4-token prompt and 4 new tokens.
    async decode_smollm2({ runs = 1 }: BenchOptions) {
      const files = await smolLM2ShapeFiles();
      const rows = await benchDecodePaths(engine, adapter, files, 'SmolLM2-135M shape', { runs: Math.min(runs, 3), prompt: 4, tokens: 4, warmupTokens: 2 });
      rows.forEach((r) => log(JSON.stringify(r)));
      return rows;
    },
    async safetensors({ runs = 5 }: BenchOptions) {
      const rows = [await benchSafetensors(engine, adapter, 'F32', runs), await benchSafetensors(engine, adapter, 'BF16', runs)];
      rows.forEach((r) => log(JSON.stringify(r)));
      return rows;
    },
    // --shapes routing,own,layer picks the adapter_routing (routing kernels alone),
    // adapter_own (the adapter without the base matmul) and adapter_layer rows.
    adapter: ({ runs = 5, shapes }: BenchOptions) => benchAdapters(engine, adapter, runs, shapes, (r) => log(JSON.stringify(r))),
    async data({ runs = 5 }: BenchOptions) {
      // Import + validate + tokenize of a generated 100 MB JSONL, in a worker. Best of a few runs
      // (the machine is shared); one fresh worker per run, so no cache carries over.
      const rows: BenchRow[] = [];
      // The fixtures' tokenizers are nearly character-level (~300 tokens); the bundled model's
      // 2,048-token BPE is closer to a real vocabulary.
      for (const model of ['tiny-llama', 'tiny-gpt2', '/models/mor1e-tiny/']) {
        const results: DataBenchResult[] = [];
        for (let i = 0; i < Math.min(runs, 3); i++) results.push(await dataBench({ megabytes: 100, model }));
        const best = results.reduce((a, b) => (b.seconds < a.seconds ? b : a));
        const row: BenchRow = {
          bench: 'data_import', shape: `${best.megabytes.toFixed(0)} MB JSONL, ${model} tokenizer`, adapter: 'cpu (worker)',
          mb_per_s: round(best.megabytes / best.seconds), rows_per_s: Math.round(best.rows / best.seconds), tokens_per_s: Math.round(best.tokens / best.seconds),
          parse_mb_per_s: round(best.megabytes / best.parseSeconds), seconds: round(best.seconds), rows: best.rows, fast_bpe: best.fastPath ? 1 : 0, runs: results.length,
        };
        log(JSON.stringify(row));
        rows.push(row);
      }
      return rows;
    },
    async forward({ runs = 5 }: BenchOptions) {
      // The largest committed test model.
      const rows = await benchForward(engine, adapter, filesFromUrl('/e2e/fixtures/models/tiny-gpt2/'), 'tiny-gpt2', runs);
      rows.forEach((r) => log(JSON.stringify(r)));
      return rows;
    },
    // --shapes 1000x384,50000x768 picks k-means shapes (N x d).
    kmeans: ({ shapes, runs = 5 }: BenchOptions) => benchKmeans(engine, adapter, { shapes, runs }, log),
    async embed({ runs = 5 }: BenchOptions) {
      const rows = await benchEmbed(engine, adapter, runs);
      rows.forEach((r) => log(JSON.stringify(r)));
      return rows;
    },
    kmeans_assign: ({ runs = 3 }: BenchOptions) => benchKmeansAssign(engine, adapter, runs, log),
    // --shapes tiny,host,smollm2,peer picks parts (default all): every method on the bundled model;
    // T-REX on it at B = 1, T = 16 (the GPU has almost nothing to do: the step's host cost, recording
    // its dispatches); T-REX on a SmolLM2-135M-shaped model; ours against jax-js on tiny-gpt2.
    async train({ runs = 3, shapes }: BenchOptions) {
      const parts = shapes?.filter((x) => ['tiny', 'host', 'smollm2', 'peer'].includes(x));
      const want = (part: string) => !parts?.length || parts.includes(part);
      // The denominator: our matmul's best FLOP/s (512³ or 1024³), measured now on this device.
      const matmul = await bestMatmulGflops(engine, runs);
      log(`matmul best (${matmul.shape}): ${matmul.gflops.toFixed(3)} GFLOP/s`);
      const rows: BenchRow[] = [];
      const one = async (files: ReturnType<typeof filesFromUrl>, name: string, B: number, T: number, methods = TRAIN_METHODS) => {
        const model = await GpuModel.load(engine, await openModel(files));
        try {
          const r = await benchTrainStep(engine, adapter, { name, model, B, T, methods }, matmul.gflops, runs);
          for (const row of r) row.matmul_shape = matmul.shape;
          r.forEach((x) => log(JSON.stringify(x)));
          rows.push(...r);
        } finally {
          model.destroy();
        }
      };
      // The bundled mor1e-tiny (4 Llama blocks, 192 wide, 2,048-token vocabulary), every method.
      if (want('tiny')) await one(filesFromUrl('/models/mor1e-tiny/'), 'mor1e-tiny', 8, 64);
      if (want('host')) await one(filesFromUrl('/models/mor1e-tiny/'), 'mor1e-tiny', 1, 16, [TRAIN_METHODS[0]]);
      // SmolLM2-135M's shape with random weights (generated here, never stored), T-REX 4 x 8 dense;
      // B = 1, T = 64 keeps a SwiftShader step near half a minute.
      if (want('smollm2')) await one(await smolLM2ShapeFiles(), 'SmolLM2-135M shape', 1, 64, [TRAIN_METHODS[0]]);
      // Ours against jax-js's grad + jit step on the largest GPT-2 fixture.
      if (want('peer')) {
        const r = await benchTrainPeer(engine, adapter, filesFromUrl('/e2e/fixtures/models/tiny-gpt2/'), 'tiny-gpt2', matmul, { B: 8, T: 64, runs }, log);
        r.forEach((x) => log(JSON.stringify(x)));
        rows.push(...r);
      }
      return rows;
    },
  });

  window.bench = {
    adapter,
    async run(name, opts = {}) {
      const fn = benches[name];
      if (!fn) throw new Error(`unknown benchmark "${name}"; known: ${Object.keys(benches).join(', ')}`);
      const rows = await fn(opts);
      if (engine.errors.length) throw new Error(`GPU errors during the benchmark: ${engine.errors.map((e) => e.message).join('; ')}`);
      return rows;
    },
  };
  log(`ready: ${adapter}`);
}

main().catch((e: unknown) => {
  window.benchError = e instanceof Error ? e.message : String(e);
  log(`error: ${window.benchError}`);
});
