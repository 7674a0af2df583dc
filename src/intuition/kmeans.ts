// GPU k-means for the intuition (METHOD.md §2): k-means++ seeding (the D² pass on the GPU, the
// draw on the host), Lloyd iterations, restarts keeping the lowest inertia. The rules and the
// random draws are those of the float64 reference (src/reference/kmeans.ts, documented there):
// the same mulberry32 stream (src/util/random.ts), one draw per centre, the same restart seeds.
// Readbacks: N distances per k-means++ centre; per Lloyd iteration only the changed count and
// the inertia (8 bytes); the centroids and assignments once per restart that improves.
import type { Engine } from '../gpu/engine.ts';
import { kmeansAssign, kmeansDist, kmeansUpdate, sumsChunk, SUMS_CENTROIDS, SUMS_DIMS } from '../ops/kmeans.ts';
import { reduceSum } from '../ops/reduce.ts';
import { Random } from '../util/random.ts';

export interface KmeansOptions {
  seed: number;
  /** Independent runs, keeping the lowest inertia (default 1). */
  restarts?: number;
  /** Lloyd iterations at most (default 100); 0 keeps the k-means++ centres. */
  maxIter?: number;
}

export interface KmeansRequest extends KmeansOptions {
  /** (n, d) row-major. */
  points: Float32Array;
  n: number;
  d: number;
  k: number;
}

export interface KmeansResult {
  /** (k, d) row-major. */
  centroids: Float32Array;
  /** (n) cluster of each point. */
  assignments: Int32Array;
  /** Σ squared distance of each point to its centroid. */
  inertia: number;
  /** Lloyd iterations of the kept restart. */
  iterations: number;
  /** Index of the kept restart. */
  restart: number;
}

/** The seed of restart r: (seed + r·0x9E3779B9) mod 2³² (the reference's rule). */
export function restartSeed(seed: number, r: number): number {
  return (seed + Math.imul(r, 0x9e3779b9)) >>> 0;
}

/** The k-means++ pick for one draw r: the first point whose running D² sum exceeds r·S (S = 0: floor(r·N)). */
function plusPlusPick(d2: Float32Array, r: number): number {
  let S = 0;
  for (let i = 0; i < d2.length; i++) S += d2[i];
  if (!(S > 0)) return Math.floor(r * d2.length);
  const target = r * S;
  let run = 0;
  let lastPositive = 0;
  for (let i = 0; i < d2.length; i++) {
    run += d2[i];
    if (d2[i] > 0) lastPositive = i;
    if (run > target) return i;
  }
  return lastPositive;
}

/** Largest |x| accepted: squared distances over d dimensions must stay finite in f32. */
const MAX_ABS = 1e15;

/** Throws a RangeError naming the first problem with a request (shapes, values, device limits). */
export function checkKmeans(points: Float32Array, n: number, d: number, k: number, opts: KmeansOptions, limits?: Record<string, number>): void {
  const restarts = opts.restarts ?? 1;
  const maxIter = opts.maxIter ?? 100;
  if (!(points instanceof Float32Array)) throw new TypeError('kmeans: points must be a Float32Array (n·d values, row-major)');
  for (const [name, v] of [['n', n], ['d', d], ['k', k], ['restarts', restarts]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`kmeans: ${name} must be a positive integer, got ${v}`);
  }
  if (!Number.isInteger(maxIter) || maxIter < 0) throw new RangeError(`kmeans: maxIter must be a non-negative integer, got ${maxIter}`);
  if (!Number.isInteger(opts.seed)) throw new RangeError(`kmeans: seed must be an integer, got ${opts.seed}`);
  if (k > n) throw new RangeError(`kmeans: k = ${k} clusters need at least k points, got n = ${n}`);
  if (points.length !== n * d) throw new RangeError(`kmeans: points has ${points.length} values, expected n·d = ${n}·${d} = ${n * d}`);
  for (let i = 0; i < points.length; i++) {
    const v = points[i];
    if (!Number.isFinite(v)) throw new RangeError(`kmeans: points[${i}] (point ${Math.floor(i / d)}, dimension ${i % d}) is ${v}, not finite`);
    if (Math.abs(v) > MAX_ABS) throw new RangeError(`kmeans: points[${i}] = ${v} is too large (|x| ≤ ${MAX_ABS}, so squared distances fit in f32)`);
  }
  if (n > 2 ** 24) throw new RangeError(`kmeans: n = ${n} points is more than 2^24 (counts are summed in f32)`);
  if (!limits) return;
  const bytes = n * d * 4;
  const maxBinding = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
  if (bytes > maxBinding) {
    throw new RangeError(`kmeans: the points take ${bytes} bytes, more than this GPU binds in one buffer (${maxBinding}); use fewer points or dimensions`);
  }
  const rows = Math.ceil(d / SUMS_DIMS) * Math.ceil(k / SUMS_CENTROIDS);
  if (rows > limits.maxComputeWorkgroupsPerDimension) {
    throw new RangeError(`kmeans: d = ${d} and k = ${k} need ${rows} workgroup rows in the centroid sums, more than this GPU's ${limits.maxComputeWorkgroupsPerDimension}`);
  }
}

/** k-means on the GPU (see the file comment); resolves to the kept restart's result. */
export async function kmeansGpu(engine: Engine, points: Float32Array, n: number, d: number, k: number, opts: KmeansOptions): Promise<KmeansResult> {
  checkKmeans(points, n, d, k, opts, engine.ctx.limits);
  const restarts = opts.restarts ?? 1;
  const maxIter = opts.maxIter ?? 100;
  const update = { N: n, D: d, K: k };
  const chunk = sumsChunk(engine, update);
  const made: GPUBuffer[] = [];
  const errors: string[] = [];
  const stopListening = engine.onError((e) => errors.push(e.message));
  const buffer = (label: string, v: number | Float32Array) => {
    const b = engine.createBuffer(`kmeans.${label}`, v);
    made.push(b);
    return b;
  };
  try {
    const X = buffer('points', points);
    const C = buffer('centroids', k * d * 4);
    const dist = buffer('dist', n * 4);
    const assign = buffer('assign', n * 4);
    const changed = buffer('changed', n * 4);
    const stats = buffer('stats', 8); // [changed count, inertia]
    const all = { N: n, D: d, k0: 0, k1: k };
    const centre = (j: number, i: number) => engine.copy(X, C, d * 4, i * d * 4, j * d * 4);
    const readStats = async () => {
      reduceSum(engine, stats, [{ buffer: changed, n }], { index: 0 });
      reduceSum(engine, stats, [{ buffer: dist, n }], { index: 1 });
      const s = await engine.read(stats, 8);
      return { changed: s[0], inertia: s[1] };
    };
    let best: KmeansResult | null = null;
    for (let r = 0; r < restarts; r++) {
      const rand = new Random(restartSeed(opts.seed, r));
      centre(0, rand.int(n));
      for (let j = 1; j < k; j++) {
        // D² against centres [0, j): centre j − 1 merged into the distances so far.
        kmeansDist(engine, dist, X, C, { N: n, D: d, j: j - 1 }, j > 1);
        centre(j, plusPlusPick(await engine.read(dist, n * 4), rand.next()));
      }
      kmeansAssign(engine, dist, assign, changed, X, C, all);
      let { inertia } = await readStats();
      let iterations = 0;
      while (iterations < maxIter) {
        kmeansUpdate(engine, C, X, assign, update, chunk);
        kmeansAssign(engine, dist, assign, changed, X, C, all);
        const s = await readStats();
        iterations++;
        inertia = s.inertia;
        if (s.changed === 0) break;
      }
      if (errors.length) throw new Error(`kmeans: the GPU reported errors: ${errors.join('; ')}`);
      if (!best || inertia < best.inertia) {
        const centroids = await engine.read(C, k * d * 4);
        const a = await engine.read(assign, n * 4);
        best = { centroids, assignments: new Int32Array(a.buffer, a.byteOffset, n), inertia, iterations, restart: r };
      }
    }
    return best!;
  } finally {
    stopListening();
    for (const b of made) b.destroy();
  }
}
