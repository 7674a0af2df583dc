// Float64 reference of k-means (the intuition's clustering, METHOD.md §2): k-means++ seeding,
// Lloyd iterations, restarts. The GPU driver (src/intuition/kmeans.ts) follows the same rules
// and draws the same random numbers (mulberry32 of the same seed), so the two can be compared
// assignment for assignment. Kernel-level functions share names and argument order with
// shaders/kmeans/*.wgsl: kmeansAssign ↔ kmeans_assign (and kmeans_assign_point), kmeansDist ↔
// kmeans_dist, kmeansUpdate ↔ kmeans_sums + kmeans_update.
//
// The rules, exactly:
// - k-means++: one random draw r per centre. Centre 0 is point floor(r·N). Centre c ≥ 1: with
//   D²(x) the squared distance to the nearest centre chosen so far and S = Σ D² (summed in point
//   order), the chosen point is the first i whose running sum Σ_{m≤i} D²_m exceeds r·S; when
//   S = 0 (every point sits on a centre) it is point floor(r·N).
// - Assignment: nearest centroid by squared Euclidean distance Σ_c (x_c − μ_c)², ties to the
//   lower centroid index.
// - Update: each centroid becomes the mean of its assigned points; an empty cluster keeps its
//   previous centroid (it is not re-seeded, so the result stays a pure function of the seed).
// - Loop: assign to the k-means++ centres; then up to maxIter times { update; assign;
//   iterations += 1; stop if no assignment changed }. The returned centroids are the last
//   updated ones, the assignments their nearest-centroid map, inertia = Σ min squared distance.
// - Restarts: restart r (0-based) runs with seed restartSeed(seed, r) = (seed + r·0x9E3779B9)
//   mod 2³² (restart 0 uses the seed itself); the restart with the lowest inertia is kept, an
//   exact tie keeping the earlier restart.
import { rng } from './gradcheck.ts';

export interface KmeansAssignShape {
  /** Points. */
  N: number;
  /** Dimensions. */
  D: number;
  /** Centroids [k0, k1) are compared. */
  k0: number;
  k1: number;
}

export interface KmeansOptions {
  seed: number;
  /** Independent runs, keeping the lowest inertia (default 1). */
  restarts?: number;
  /** Lloyd iterations at most (default 100); 0 keeps the k-means++ centres. */
  maxIter?: number;
}

export interface KmeansReferenceResult {
  centroids: Float64Array;
  assignments: Int32Array;
  inertia: number;
  iterations: number;
  /** Index of the kept restart. */
  restart: number;
  /** Inertia of the kept restart after the initial assignment and after each iteration. */
  history: number[];
  /** Final inertia of every restart, in order. */
  inertias: number[];
}

/** The seed of restart r: (seed + r·0x9E3779B9) mod 2³². */
export function restartSeed(seed: number, r: number): number {
  return (seed + Math.imul(r, 0x9e3779b9)) >>> 0;
}

/**
 * Nearest centroid among [k0, k1) for every point, by squared distance, ties to the lower index.
 * merge = false: dist, assign `=`. merge = true: a centroid of this range replaces the stored
 * (dist, assign) only when strictly nearer (the stored one came from lower indices), which is
 * the k-means++ D² update. changed[i] = 1 where assign[i] changed, else 0.
 */
export function kmeansAssign(
  dist: Float64Array, assign: Int32Array, changed: Float64Array, points: ArrayLike<number>, centroids: ArrayLike<number>,
  s: KmeansAssignShape, merge = false,
): void {
  const { N, D, k0, k1 } = s;
  for (let i = 0; i < N; i++) {
    let best = Infinity;
    let bestJ = -1;
    for (let j = k0; j < k1; j++) {
      let acc = 0;
      for (let c = 0; c < D; c++) {
        const t = points[i * D + c] - centroids[j * D + c];
        acc += t * t;
      }
      if (acc < best) {
        best = acc;
        bestJ = j;
      }
    }
    const old = assign[i];
    if (merge && !(best < dist[i])) {
      best = dist[i];
      bestJ = old;
    }
    dist[i] = best;
    assign[i] = bestJ;
    changed[i] = bestJ !== old ? 1 : 0;
  }
}

/** The k-means++ D² update for centre j: dist `=` ‖x − μ_j‖² (merge: the minimum with the stored dist). */
export function kmeansDist(dist: Float64Array, points: ArrayLike<number>, centroids: ArrayLike<number>, s: { N: number; D: number; j: number }, merge = false): void {
  const { N, D, j } = s;
  for (let i = 0; i < N; i++) {
    let acc = 0;
    for (let c = 0; c < D; c++) {
      const t = centroids[j * D + c] - points[i * D + c];
      acc += t * t;
    }
    if (!merge || acc < dist[i]) dist[i] = acc;
  }
}

/** centroids[j] = mean of the points assigned to j (`=`); an empty cluster keeps its centroid. */
export function kmeansUpdate(centroids: Float64Array, points: ArrayLike<number>, assign: Int32Array, s: { N: number; D: number; K: number }): void {
  const { N, D, K } = s;
  const sum = new Float64Array(K * D);
  const count = new Float64Array(K);
  for (let i = 0; i < N; i++) {
    const j = assign[i];
    count[j] += 1;
    for (let c = 0; c < D; c++) sum[j * D + c] += points[i * D + c];
  }
  for (let j = 0; j < K; j++) {
    if (count[j] === 0) continue;
    for (let c = 0; c < D; c++) centroids[j * D + c] = sum[j * D + c] / count[j];
  }
}

/** The k-means++ pick given one draw r in [0, 1) and D² of every point (see the rules above). */
export function plusPlusPick(d2: ArrayLike<number>, r: number): number {
  const N = d2.length;
  let S = 0;
  for (let i = 0; i < N; i++) S += d2[i];
  if (!(S > 0)) return Math.floor(r * N);
  const target = r * S;
  let run = 0;
  let lastPositive = 0;
  for (let i = 0; i < N; i++) {
    run += d2[i];
    if (d2[i] > 0) lastPositive = i;
    if (run > target) return i;
  }
  return lastPositive; // rounding only
}

/** Indices of the k-means++ centres, drawing from `rand`. */
export function kmeansPlusPlus(points: ArrayLike<number>, N: number, D: number, K: number, rand: () => number): number[] {
  const chosen = [Math.floor(rand() * N)];
  const centres = new Float64Array(K * D);
  const copy = (j: number, i: number) => {
    for (let c = 0; c < D; c++) centres[j * D + c] = points[i * D + c];
  };
  copy(0, chosen[0]);
  const dist = new Float64Array(N);
  kmeansDist(dist, points, centres, { N, D, j: 0 });
  for (let j = 1; j < K; j++) {
    const i = plusPlusPick(dist, rand());
    chosen.push(i);
    copy(j, i);
    if (j < K - 1) kmeansDist(dist, points, centres, { N, D, j }, true);
  }
  return chosen;
}

const sum = (a: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s;
};

function checkArgs(points: ArrayLike<number>, n: number, d: number, k: number, restarts: number, maxIter: number, seed: number): void {
  for (const [name, v] of [['n', n], ['d', d], ['k', k], ['restarts', restarts]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`kmeans: ${name} must be a positive integer, got ${v}`);
  }
  if (!Number.isInteger(maxIter) || maxIter < 0) throw new RangeError(`kmeans: maxIter must be a non-negative integer, got ${maxIter}`);
  if (!Number.isInteger(seed)) throw new RangeError(`kmeans: seed must be an integer, got ${seed}`);
  if (k > n) throw new RangeError(`kmeans: k = ${k} clusters need at least k points, got n = ${n}`);
  if (points.length !== n * d) throw new RangeError(`kmeans: points has ${points.length} values, expected n·d = ${n}·${d} = ${n * d}`);
  for (let i = 0; i < points.length; i++) {
    if (!Number.isFinite(points[i])) throw new RangeError(`kmeans: points[${i}] (point ${Math.floor(i / d)}, dimension ${i % d}) is ${points[i]}, not finite`);
  }
}

/** One k-means run from one seed. */
function runOnce(points: ArrayLike<number>, N: number, D: number, K: number, seed: number, maxIter: number) {
  const centroids = new Float64Array(K * D);
  kmeansPlusPlus(points, N, D, K, rng(seed)).forEach((i, j) => {
    for (let c = 0; c < D; c++) centroids[j * D + c] = points[i * D + c];
  });
  const dist = new Float64Array(N);
  const assign = new Int32Array(N).fill(-1);
  const changed = new Float64Array(N);
  const shape = { N, D, k0: 0, k1: K };
  kmeansAssign(dist, assign, changed, points, centroids, shape);
  const history = [sum(dist)];
  let iterations = 0;
  while (iterations < maxIter) {
    kmeansUpdate(centroids, points, assign, { N, D, K });
    kmeansAssign(dist, assign, changed, points, centroids, shape);
    iterations++;
    history.push(sum(dist));
    if (sum(changed) === 0) break;
  }
  return { centroids, assignments: assign, inertia: history[history.length - 1], iterations, history };
}

/** k-means with k-means++ seeding and restarts, in float64 (see the rules at the top). */
export function kmeans(points: ArrayLike<number>, n: number, d: number, k: number, opts: KmeansOptions): KmeansReferenceResult {
  const restarts = opts.restarts ?? 1;
  const maxIter = opts.maxIter ?? 100;
  checkArgs(points, n, d, k, restarts, maxIter, opts.seed);
  let best: (ReturnType<typeof runOnce> & { restart: number }) | null = null;
  const inertias: number[] = [];
  for (let r = 0; r < restarts; r++) {
    const run = runOnce(points, n, d, k, restartSeed(opts.seed, r), maxIter);
    inertias.push(run.inertia);
    if (!best || run.inertia < best.inertia) best = { ...run, restart: r };
  }
  return { ...best!, inertias };
}
