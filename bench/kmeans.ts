// k-means benchmark body (browser page): the GPU driver (src/intuition/kmeans.ts) against the
// float64 reference (src/reference/kmeans.ts) on the same page and the same data, k = 32, the
// same seed, so both run the same k-means++ draws and the same Lloyd iterations, at most 10
// (N = 10,000 and 50,000 run all 10; N = 1,000 converges sooner; the rows record both counts).
// Each side is also timed with maxIter = 0 (k-means++ and the first assignment only), so a row
// splits its time into init and per iteration.
import type { Engine } from '../src/gpu/engine.ts';
import { kmeansGpu } from '../src/intuition/kmeans.ts';
import { kmeans } from '../src/reference/kmeans.ts';
import { assignLanes, kmeansAssign, kmeansDist, type AssignTuning } from '../src/ops/kmeans.ts';
import { round } from './timing.ts';

export const KMEANS_SHAPES: Array<[number, number]> = [[1000, 384], [1000, 768], [10000, 384], [10000, 768], [50000, 384], [50000, 768]];
const K = 32;
const ITERS = 10;
const SEED = 1;

/** Uniform [0, 1) points from a mulberry32 stream (the data only needs to be fixed). */
function points(n: number, d: number): Float32Array {
  const out = new Float32Array(n * d);
  let s = 12345;
  for (let i = 0; i < out.length; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  return out;
}

async function timed<T>(fn: () => Promise<T> | T): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

/** Median of `runs` timings of `fn`. */
async function median<T>(runs: number, fn: () => Promise<T> | T): Promise<{ ms: number; value: T }> {
  const all: Array<{ ms: number; value: T }> = [];
  for (let i = 0; i < runs; i++) all.push(await timed(fn));
  all.sort((a, b) => a.ms - b.ms);
  return all[Math.floor(all.length / 2)];
}

export async function benchKmeans(engine: Engine, adapter: string, opts: { shapes?: string[]; runs: number }, log: (s: string) => void) {
  const rows = [];
  // Warm-up: compiles every pipeline once.
  const warm = points(300, 64);
  await kmeansGpu(engine, warm, 300, 64, K, { seed: SEED, maxIter: 2 });
  for (const [N, d] of KMEANS_SHAPES.filter(([n, dd]) => !opts.shapes || opts.shapes.includes(`${n}x${dd}`))) {
    const x = points(N, d);
    const runs = Math.max(1, Math.min(opts.runs, N <= 1000 ? 5 : N <= 10000 ? 2 : 1));
    const gpu = await median(runs, () => kmeansGpu(engine, x, N, d, K, { seed: SEED, maxIter: ITERS }));
    const gpuInit = await median(runs, () => kmeansGpu(engine, x, N, d, K, { seed: SEED, maxIter: 0 }));
    const ref = await median(runs, () => kmeans(x, N, d, K, { seed: SEED, maxIter: ITERS }));
    const refInit = await median(runs, () => kmeans(x, N, d, K, { seed: SEED, maxIter: 0 }));
    const row = {
      bench: 'kmeans', shape: `N=${N} d=${d} k=${K}, maxIter ${ITERS}`, adapter,
      gpu_ms: round(gpu.ms, 4), ref_ms: round(ref.ms, 4), speedup: round(ref.ms / gpu.ms),
      gpu_init_ms: round(gpuInit.ms, 4), ref_init_ms: round(refInit.ms, 4),
      gpu_iter_ms: round((gpu.ms - gpuInit.ms) / gpu.value.iterations, 4), ref_iter_ms: round((ref.ms - refInit.ms) / ref.value.iterations, 4),
      gpu_iterations: gpu.value.iterations, ref_iterations: ref.value.iterations,
      inertia_rel_diff: Number((Math.abs(gpu.value.inertia - ref.value.inertia) / ref.value.inertia).toExponential(2)),
      runs, note: 'GPU: driver wall time incl. upload and readbacks; ref: float64 TypeScript on the page thread',
    };
    log(JSON.stringify(row));
    rows.push(row);
  }
  return rows;
}

/** One assignment pass (all k centroids) per kmeans_assign variant and tunable, side by side. */
export async function benchKmeansAssign(engine: Engine, adapter: string, runs: number, log: (s: string) => void, N = 10000, d = 768) {
  const made = [engine.createBuffer('x', points(N, d)), engine.createBuffer('c', points(K, d)), engine.createBuffer('dist', N * 4), engine.createBuffer('assign', N * 4), engine.createBuffer('changed', N * 4)];
  const [x, c, dist, assign, changed] = made;
  const tunings: AssignTuning[] = [
    { lanes: 1 }, { lanes: 2 }, { lanes: 4 }, { lanes: 8 },
    { variant: 'point', slices: 1 }, { variant: 'point', slices: 2 }, { variant: 'point', slices: 8 }, { variant: 'point', slices: 64 },
  ];
  const rows = [];
  try {
    for (const tune of tunings) {
      const pass = () => {
        kmeansAssign(engine, dist, assign, changed, x, c, { N, D: d, k0: 0, k1: K }, false, tune);
        return engine.submit();
      };
      await pass();
      const t = await median(runs, pass);
      const name = tune.variant === 'point' ? `point SLICES=${tune.slices}` : `tiled CTX=${tune.lanes}`;
      const dflt = tune.variant === 'point' ? false : tune.lanes === assignLanes(K);
      const row = {
        bench: 'kmeans_assign', shape: `N=${N} d=${d} k=${K}, ${name}${dflt ? ' (default)' : ''}`, adapter,
        ms: round(t.ms, 4), gflops: round((3 * N * K * d) / (t.ms * 1e6)), runs, note: 'one assignment pass; 3 flops (sub, mul, add) per point, centroid and dimension',
      };
      log(JSON.stringify(row));
      rows.push(row);
    }
    // The k-means++ D² update for one centre: kmeans_assign (tiled, one-centroid range, MERGE) vs kmeans_dist.
    for (const kind of ['kmeans_assign CTX=1 MERGE', 'kmeans_assign point MERGE', 'kmeans_dist MERGE'] as const) {
      const pass = () => {
        const s = { N, D: d, k0: 5, k1: 6 };
        if (kind === 'kmeans_dist MERGE') kmeansDist(engine, dist, x, c, { N, D: d, j: 5 }, true);
        else kmeansAssign(engine, dist, assign, changed, x, c, s, true, kind === 'kmeans_assign point MERGE' ? { variant: 'point' } : {});
        return engine.submit();
      };
      await pass();
      const t = await median(runs, pass);
      const row = {
        bench: 'kmeans_dist', shape: `N=${N} d=${d}, one centre, ${kind}`, adapter,
        ms: round(t.ms, 4), gflops: round((3 * N * d) / (t.ms * 1e6)), runs, note: 'one k-means++ D² update (k - 1 per k-means++ init)',
      };
      log(JSON.stringify(row));
      rows.push(row);
    }
  } finally {
    for (const b of made) b.destroy();
  }
  return rows;
}
