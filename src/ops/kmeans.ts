// Launchers for shaders/kmeans/*: kmeansAssign (nearest centroid per point, or a D² merge of a
// range; tiled, or one workgroup per point), kmeansDist (the k-means++ D² update for one centre)
// and kmeansUpdate (centroid means in two stages, kmeans_sums then kmeans_update, with no float
// atomics). Same names and argument order as src/reference/kmeans.ts.
import { gridElements, gridFor, params, type Engine } from '../gpu/engine.ts';

export interface KmeansAssignShape {
  N: number;
  D: number;
  /** Centroids [k0, k1) are compared. */
  k0: number;
  k1: number;
}

export interface KmeansUpdateShape {
  N: number;
  D: number;
  K: number;
}

/** kmeans_sums' fixed tile sizes: 64 dimensions by 32 centroids per workgroup. */
export const SUMS_DIMS = 64;
export const SUMS_CENTROIDS = 32;
/** The chunk sums are kept below this many bytes, and below half the binding limit (the pool rounds sizes up to a power of two). */
const PSUM_MAX_BYTES = 128 * 2 ** 20;

/** Centroid lanes of the tiled kmeans_assign for a range of `kr` centroids: 4 centroids per lane, 1 to 8 lanes. */
export function assignLanes(kr: number): number {
  let ctx = 1;
  while (ctx * 4 < kr && ctx < 8) ctx *= 2;
  return ctx;
}

/** Threads per centroid in kmeans_assign_point for a range of `kr` centroids: 64 / lanes, at least 8. */
export function assignSlices(kr: number): number {
  let lanes = 1;
  while (lanes < kr && lanes < 64) lanes *= 2;
  return Math.max(64 / lanes, 8);
}

/** Tunables of kmeans_assign; the defaults suit the range size. */
export interface AssignTuning {
  /** 'tiled' (kmeans_assign, the default) or 'point' (kmeans_assign_point, one workgroup per point). */
  variant?: 'tiled' | 'point';
  /** tiled: centroid lanes CTX (1, 2, 4, 8). */
  lanes?: number;
  /** point: threads per centroid SLICES (a power of two ≤ 64). */
  slices?: number;
}

/** Points per chunk of kmeans_sums: 256, or more when the chunk sums (C, K, D) would not fit. */
export function sumsChunk(engine: Engine, s: KmeansUpdateShape): number {
  const maxBytes = Math.min(PSUM_MAX_BYTES, engine.ctx.limits.maxStorageBufferBindingSize / 2, engine.ctx.limits.maxBufferSize / 2);
  const maxChunks = Math.min(65535, Math.floor(maxBytes / (s.K * s.D * 4)));
  if (maxChunks < 1) throw new RangeError(`kmeans: K·D = ${s.K}·${s.D} centroid values do not fit one ${maxBytes}-byte chunk-sum buffer`);
  return Math.max(256, Math.ceil(s.N / maxChunks));
}

/**
 * dist, assign, changed `=` for every point against centroids [k0, k1); merge: a centroid of
 * the range replaces the stored (dist, assign) only when strictly nearer.
 */
export function kmeansAssign(
  engine: Engine, dist: GPUBuffer, assign: GPUBuffer, changed: GPUBuffer, points: GPUBuffer, centroids: GPUBuffer,
  s: KmeansAssignShape, merge = false, tune: AssignTuning = {},
): void {
  const bindings = [dist, assign, changed, points, centroids];
  const params_ = params({ N: s.N, D: s.D, k0: s.k0, k1: s.k1 });
  if (tune.variant === 'point') {
    const SLICES = tune.slices ?? assignSlices(s.k1 - s.k0);
    engine.dispatch(engine.kernel('kmeans/kmeans_assign_point', { SLICES, MERGE: merge }), { bindings, params: params_, workgroups: gridFor(s.N) });
    return;
  }
  const CTX = tune.lanes ?? assignLanes(s.k1 - s.k0);
  if (![1, 2, 4, 8].includes(CTX)) throw new RangeError(`kmeansAssign: lanes must be 1, 2, 4 or 8, got ${CTX}`);
  engine.dispatch(engine.kernel('kmeans/kmeans_assign', { CTX, MERGE: merge }), { bindings, params: params_, workgroups: gridFor(Math.ceil(s.N / (512 / CTX))) });
}

/** The k-means++ D² update for centre j: dist `=` ‖x − μ_j‖², or with merge its minimum with the stored dist. */
export function kmeansDist(engine: Engine, dist: GPUBuffer, points: GPUBuffer, centroids: GPUBuffer, s: { N: number; D: number; j: number }, merge = false): void {
  engine.dispatch(engine.kernel('kmeans/kmeans_dist', { MERGE: merge }), {
    bindings: [dist, points, centroids],
    params: params({ N: s.N, D: s.D, j: s.j, pad: 0 }),
    workgroups: gridElements(s.N),
  });
}

/** centroids `=` mean of the points assigned to each (assign as u32; 0xffffffff: none); an empty cluster keeps its centroid. */
export function kmeansUpdate(engine: Engine, centroids: GPUBuffer, points: GPUBuffer, assign: GPUBuffer, s: KmeansUpdateShape, chunk = sumsChunk(engine, s)): void {
  const C = Math.ceil(s.N / chunk);
  const tiles = Math.ceil(s.D / SUMS_DIMS);
  const groups = Math.ceil(s.K / SUMS_CENTROIDS);
  const psum = engine.scratch('kmeans.psum', C * s.K * s.D * 4);
  const pcount = engine.scratch('kmeans.pcount', C * s.K * 4);
  engine.dispatch(engine.kernel('kmeans/kmeans_sums'), {
    bindings: [psum, pcount, points, assign],
    params: params({ N: s.N, D: s.D, K: s.K, P: chunk, tiles, pad0: 0, pad1: 0, pad2: 0 }),
    workgroups: [C, tiles * groups],
  });
  engine.dispatch(engine.kernel('kmeans/kmeans_update'), {
    bindings: [centroids, psum, pcount],
    params: params({ K: s.K, D: s.D, C, pad: 0 }),
    workgroups: gridElements(s.K * s.D),
  });
}
