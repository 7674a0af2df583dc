// How well the intuition's clusters describe the data: cluster sizes, and when rows carry task
// labels, purity and normalised mutual information between clusters and tasks; and the 2-D
// cluster map: a PCA projection (power iteration with deflation, deterministic) of the
// embeddings and centroids, or UMAP (umap-js) step by step so the map can animate.
import { UMAP } from 'umap-js';
import { Random } from '../util/random.ts';

export function clusterSizes(assignments: ArrayLike<number>, k: number): number[] {
  const sizes = new Array<number>(k).fill(0);
  for (let i = 0; i < assignments.length; i++) sizes[assignments[i]]++;
  return sizes;
}

/** Contingency table counts[c][t] of clusters against task labels. */
function contingency(assignments: ArrayLike<number>, labels: ArrayLike<number>, k: number, tasks: number): number[][] {
  if (assignments.length !== labels.length) throw new RangeError(`${assignments.length} assignments but ${labels.length} labels`);
  const n = Array.from({ length: k }, () => new Array<number>(tasks).fill(0));
  for (let i = 0; i < assignments.length; i++) n[assignments[i]][labels[i]]++;
  return n;
}

/** Share of rows whose cluster's most common task is their own task. */
export function purity(assignments: ArrayLike<number>, labels: ArrayLike<number>, k: number, tasks: number): number {
  const n = contingency(assignments, labels, k, tasks);
  return n.reduce((s, row) => s + Math.max(0, ...row), 0) / assignments.length;
}

/** Normalised mutual information I(C; T) / sqrt(H(C) H(T)) (1 when clusters and tasks agree; 0 when independent). */
export function nmi(assignments: ArrayLike<number>, labels: ArrayLike<number>, k: number, tasks: number): number {
  const N = assignments.length;
  const n = contingency(assignments, labels, k, tasks);
  const a = n.map((row) => row.reduce((s, x) => s + x, 0));
  const b = Array.from({ length: tasks }, (_, t) => n.reduce((s, row) => s + row[t], 0));
  let I = 0;
  for (let c = 0; c < k; c++) for (let t = 0; t < tasks; t++) if (n[c][t] > 0) I += (n[c][t] / N) * Math.log((N * n[c][t]) / (a[c] * b[t]));
  const H = (m: number[]) => -m.reduce((s, x) => (x > 0 ? s + (x / N) * Math.log(x / N) : s), 0);
  const hc = H(a), ht = H(b);
  if (hc === 0 || ht === 0) return hc === ht ? 1 : 0;
  return I / Math.sqrt(hc * ht);
}

/**
 * The top `dims` principal axes of n points (n x d, row-major) by power iteration on the
 * covariance, deflating each found axis; a deterministic start, so a projection repeats.
 */
export function principalAxes(points: Float32Array, n: number, d: number, dims = 2, iterations = 200): { mean: Float64Array; axes: Float64Array[] } {
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += points[i * d + j] / n;
  const axes: Float64Array[] = [];
  const rng = new Random(12345);
  // cov · v without forming the d x d matrix: Σ_i (x_i − μ) ((x_i − μ) · v) / n.
  const covTimes = (v: Float64Array) => {
    const out = new Float64Array(d);
    for (let i = 0; i < n; i++) {
      let dot = 0;
      for (let j = 0; j < d; j++) dot += (points[i * d + j] - mean[j]) * v[j];
      for (let j = 0; j < d; j++) out[j] += ((points[i * d + j] - mean[j]) * dot) / n;
    }
    return out;
  };
  const orth = (v: Float64Array) => {
    for (const a of axes) {
      let dot = 0;
      for (let j = 0; j < d; j++) dot += v[j] * a[j];
      for (let j = 0; j < d; j++) v[j] -= dot * a[j];
    }
    let norm = 0;
    for (let j = 0; j < d; j++) norm += v[j] * v[j];
    norm = Math.sqrt(norm);
    if (norm > 0) for (let j = 0; j < d; j++) v[j] /= norm;
    return norm;
  };
  for (let a = 0; a < Math.min(dims, d); a++) {
    let v: Float64Array = Float64Array.from({ length: d }, () => rng.next() - 0.5);
    orth(v);
    for (let it = 0; it < iterations; it++) {
      const next = covTimes(v);
      if (orth(next) === 0) break; // no variance left in this direction
      let delta = 0;
      for (let j = 0; j < d; j++) delta = Math.max(delta, Math.abs(next[j] - v[j]));
      v = next;
      if (delta < 1e-10) break;
    }
    // A fixed sign: the largest component positive.
    let big = 0;
    for (let j = 0; j < d; j++) if (Math.abs(v[j]) > Math.abs(v[big])) big = j;
    if (v[big] < 0) for (let j = 0; j < d; j++) v[j] = -v[j];
    axes.push(v);
  }
  return { mean, axes };
}

/** Points (m x d) in the principal coordinates (m x dims). */
export function project(points: Float32Array, m: number, d: number, pca: { mean: Float64Array; axes: Float64Array[] }): Float32Array {
  const dims = pca.axes.length;
  const out = new Float32Array(m * dims);
  for (let i = 0; i < m; i++)
    pca.axes.forEach((a, k) => {
      let s = 0;
      for (let j = 0; j < d; j++) s += (points[i * d + j] - pca.mean[j]) * a[j];
      out[i * dims + k] = s;
    });
  return out;
}

export interface ClusterMap {
  method: 'pca' | 'umap';
  /** (n x 2) */
  points: Float32Array;
  /** (k x 2) */
  centroids: Float32Array;
}

export function pcaMap(points: Float32Array, n: number, d: number, centroids: Float32Array, k: number): ClusterMap {
  const pca = principalAxes(points, n, d, 2);
  return { method: 'pca', points: project(points, n, d, pca), centroids: project(centroids, k, d, pca) };
}

/**
 * UMAP of the embeddings (seeded), calling `onFrame` every `frameEvery` epochs with the map so
 * far; centroids sit at the mean of their cluster's points on the map.
 */
export async function umapMap(
  points: Float32Array, n: number, d: number, assignments: ArrayLike<number>, k: number,
  opts: { seed: number; epochs?: number; frameEvery?: number; onFrame?: (m: ClusterMap, epoch: number, epochs: number) => void },
): Promise<ClusterMap> {
  if (n < 3) throw new RangeError(`UMAP needs at least 3 points, got ${n}`);
  const rng = new Random(opts.seed);
  const umap = new UMAP({ nComponents: 2, nNeighbors: Math.max(2, Math.min(15, n - 1)), nEpochs: opts.epochs ?? 200, random: () => rng.next() });
  const X = Array.from({ length: n }, (_, i) => Array.from(points.subarray(i * d, (i + 1) * d)));
  const epochs = umap.initializeFit(X);
  const frame = (): ClusterMap => {
    const emb = umap.getEmbedding();
    const flat = new Float32Array(n * 2);
    emb.forEach((p, i) => flat.set(p.slice(0, 2), i * 2));
    const cen = new Float32Array(k * 2), count = new Array<number>(k).fill(0);
    for (let i = 0; i < n; i++) {
      const c = assignments[i];
      cen[c * 2] += flat[i * 2];
      cen[c * 2 + 1] += flat[i * 2 + 1];
      count[c]++;
    }
    for (let c = 0; c < k; c++)
      if (count[c]) {
        cen[c * 2] /= count[c];
        cen[c * 2 + 1] /= count[c];
      }
    return { method: 'umap', points: flat, centroids: cen };
  };
  const every = opts.frameEvery ?? 20;
  for (let e = 0; e < epochs; e++) {
    umap.step();
    if (opts.onFrame && (e + 1) % every === 0 && e + 1 < epochs) {
      opts.onFrame(frame(), e + 1, epochs);
      await new Promise((r) => setTimeout(r, 0));
    }
  }
  return frame();
}
