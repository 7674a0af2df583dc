// The intuition of METHOD.md §2, end to end: embed every instance's prompt (base model, sentence
// encoder, or vectors supplied with the data), cluster the training embeddings with k-means on
// the GPU (k defaults to the adapter's expert count E), score every instance s = C e, and keep
// the centroids and the embedding source so prompts at evaluation and generation are scored the
// same way. Diagnostics (sizes, inertia, purity and NMI against task labels) and a 2-D map.
//
// Centring (on by default for the model's and an encoder's embeddings, off for supplied vectors):
// the training embeddings' mean is subtracted and each vector renormalised before clustering and
// scoring. A small model's mean-pooled hidden states all point nearly the same way (on the bundled
// suite every training prompt's scores s = C e lie within 0.03 of each other, around 0.99), so
// the intuition term 4 (1 - w) s is the same for every expert; with the router zero-initialised,
// T-REX's B columns then get identical gradients at every step and the adapter stays rank 1 (the
// symmetry is never broken). Centred, the scores spread over about ±0.7 and the experts separate.
// The mean is kept with the centroids and applied to every prompt scored later.
import type { Engine } from '../gpu/engine.ts';
import type { Dataset } from '../data/dataset.ts';
import { kmeansGpu } from './kmeans.ts';
import { embeddingText, l2normalise, type Embedder } from './embed.ts';
import { clusterSizes, nmi, pcaMap, purity, umapMap, type ClusterMap } from './diagnostics.ts';
import { Random } from '../util/random.ts';

export type IntuitionSource = 'model' | 'encoder' | 'supplied';

export interface IntuitionRequest {
  source: IntuitionSource;
  /** A sentence encoder (for source 'encoder'): a URL prefix or hub id; loadEncoder() if already loaded. */
  encoder?: string;
  /** Block whose hidden states the base model embeds with (source 'model'; default the middle one). */
  layer?: number;
  /** Clusters (default: the adapter's expert count E, or 32, T-REX 4 x 8's count). */
  k?: number;
  seed: number;
  restarts?: number;
  maxIter?: number;
  /** The cluster map: 'pca' (default) or 'umap' (stepwise; frames arrive as events). */
  projection?: 'pca' | 'umap';
  /** Subtract the training embeddings' mean (then renormalise) before clustering and scoring; default: true unless the source is 'supplied'. */
  center?: boolean;
}

export interface IntuitionResult {
  source: IntuitionSource;
  layer: number | null;
  encoder: string | null;
  k: number;
  dim: number;
  /** Whether the embeddings were centred (IntuitionRequest.center). */
  center: boolean;
  /** Training rows per cluster. */
  sizes: number[];
  inertia: number;
  iterations: number;
  /** Against task labels, when the data has more than one task. */
  purity?: number;
  nmi?: number;
  projection: {
    method: 'pca' | 'umap';
    /** (n x 2), one point per entry of `rows`. */
    points: Float32Array;
    /** (k x 2) */
    centroids: Float32Array;
    /** The dataset rows (example indices) the points are, and each one's cluster. */
    rows: Int32Array;
    clusters: Int32Array;
  };
}

/** The clustering kept for scoring: what embeds a prompt, and the centroids (k x dim). */
export interface IntuitionModel {
  source: IntuitionSource;
  layer: number | null;
  encoder: string | null;
  k: number;
  dim: number;
  centroids: Float32Array;
  /** The training embeddings' mean (dim) subtracted before scoring; null: not centred. */
  mean: Float32Array | null;
  embedder: Embedder | null;
}

/** Most points UMAP maps (a seeded sample beyond it). */
export const UMAP_MAX_POINTS = 2000;

/** s = C e for each of n embeddings (n x dim) → (n x k). */
export function relateScores(centroids: Float32Array, k: number, dim: number, e: Float32Array): Float32Array {
  const n = e.length / dim;
  const s = new Float32Array(n * k);
  for (let i = 0; i < n; i++)
    for (let c = 0; c < k; c++) {
      let dot = 0;
      for (let j = 0; j < dim; j++) dot += centroids[c * dim + j] * e[i * dim + j];
      s[i * k + c] = dot;
    }
  return s;
}

/** The mean of n unit embeddings (n x dim). */
export function meanEmbedding(e: Float32Array, n: number, dim: number): Float32Array {
  const acc = new Float64Array(dim);
  for (let i = 0; i < n; i++) for (let j = 0; j < dim; j++) acc[j] += e[i * dim + j];
  return Float32Array.from(acc, (v) => v / n);
}

/** Each embedding minus `mean`, renormalised (in place; a vector equal to the mean becomes zero). */
export function centreEmbeddings(e: Float32Array, mean: Float32Array): Float32Array {
  const dim = mean.length;
  for (let i = 0; i < e.length; i += dim) for (let j = 0; j < dim; j++) e[i + j] -= mean[j];
  return l2normalise(e, dim);
}

/** The supplied `emb` vectors of the given rows, normalised; every row must have one. */
function suppliedEmbeddings(ds: Dataset, rows: number[]): { e: Float32Array; dim: number } {
  const first = ds.examples[rows[0]]?.emb;
  const missing = rows.find((r) => !ds.examples[r].emb);
  if (!first || missing !== undefined) {
    const ex = ds.examples[missing ?? rows[0]];
    throw new Error(`source "supplied" needs an "emb" vector on every row; the row at line ${ex.line} has none (import data with an "emb" field, or embed with the model or an encoder)`);
  }
  const dim = first.length;
  const e = new Float32Array(rows.length * dim);
  rows.forEach((r, i) => e.set(ds.examples[r].emb!, i * dim));
  return { e: l2normalise(e, dim), dim };
}

export interface IntuitionProgress {
  phase: 'embed' | 'cluster' | 'map';
  done: number;
  total: number;
}

/** Runs the whole intuition on a dataset and stores each row's scores in it. */
export async function computeIntuition(
  engine: Engine, ds: Dataset, req: IntuitionRequest, embedder: Embedder | null, defaultK: number,
  hooks: { onProgress?: (p: IntuitionProgress) => void; onMap?: (m: ClusterMap) => void } = {},
): Promise<{ result: IntuitionResult; model: IntuitionModel }> {
  if (!Number.isInteger(req.seed)) throw new Error(`intuition: seed must be an integer, got ${req.seed}`);
  const train = ds.rows('train');
  const all = [...train, ...ds.rows('validation')];
  const k = req.k ?? defaultK;
  if (!(Number.isInteger(k) && k >= 1)) throw new Error(`intuition: k must be a positive integer, got ${req.k}`);
  if (k > train.length) throw new Error(`intuition: ${k} clusters need at least ${k} training rows; the training split has ${train.length} (lower k)`);
  // Embeddings of every kept row (training rows first).
  let e: Float32Array, dim: number;
  if (req.source === 'supplied') ({ e, dim } = suppliedEmbeddings(ds, all));
  else {
    if (!embedder) throw new Error(`intuition: source "${req.source}" needs ${req.source === 'model' ? 'a loaded model' : 'a loaded sentence encoder'}`);
    dim = embedder.dim;
    e = await embedder.embed(all.map((r) => embeddingText(ds.examples[r])), (done, total) => hooks.onProgress?.({ phase: 'embed', done, total }));
  }
  const nTrain = train.length;
  const center = req.center ?? req.source !== 'supplied';
  const mean = center ? meanEmbedding(e, nTrain, dim) : null;
  if (mean) centreEmbeddings(e, mean);
  const trainE = e.subarray(0, nTrain * dim);
  hooks.onProgress?.({ phase: 'cluster', done: 0, total: 1 });
  const km = await kmeansGpu(engine, trainE, nTrain, dim, k, { seed: req.seed, restarts: req.restarts ?? 1, maxIter: req.maxIter });
  hooks.onProgress?.({ phase: 'cluster', done: 1, total: 1 });
  // Scores of every row, kept with the dataset (example index → k scores).
  const s = relateScores(km.centroids, k, dim, e);
  ds.setIntuitionScores(all, s, k);
  // Diagnostics on the training rows.
  const labels = Int32Array.from(train, (r) => ds.taskOf[r]);
  const tasks = ds.taskNames.length;
  const diag = tasks > 1 ? { purity: purity(km.assignments, labels, k, tasks), nmi: nmi(km.assignments, labels, k, tasks) } : {};
  // The map: PCA of every training point, or UMAP of a seeded sample.
  let mapRows = Int32Array.from(train.keys());
  let map: ClusterMap;
  if (req.projection === 'umap') {
    if (nTrain > UMAP_MAX_POINTS) mapRows = Int32Array.from(new Random(req.seed).shuffle([...train.keys()]).slice(0, UMAP_MAX_POINTS).sort((a, b) => a - b));
    const pts = new Float32Array(mapRows.length * dim);
    mapRows.forEach((i, j) => pts.set(trainE.subarray(i * dim, (i + 1) * dim), j * dim));
    const assign = Int32Array.from(mapRows, (i) => km.assignments[i]);
    map = await umapMap(pts, mapRows.length, dim, assign, k, {
      seed: req.seed,
      onFrame: (m, epoch, epochs) => {
        hooks.onProgress?.({ phase: 'map', done: epoch, total: epochs });
        hooks.onMap?.(m);
      },
    });
  } else map = pcaMap(trainE, nTrain, dim, km.centroids, k);
  const result: IntuitionResult = {
    source: req.source, layer: embedder && 'layer' in embedder ? (embedder as { layer: number }).layer : null, encoder: req.source === 'encoder' ? (req.encoder ?? null) : null,
    k, dim, center, sizes: clusterSizes(km.assignments, k), inertia: km.inertia, iterations: km.iterations, ...diag,
    projection: { method: map.method, points: map.points, centroids: map.centroids, rows: Int32Array.from(mapRows, (i) => train[i]), clusters: Int32Array.from(mapRows, (i) => km.assignments[i]) },
  };
  const model: IntuitionModel = { source: req.source, layer: result.layer, encoder: result.encoder, k, dim, centroids: km.centroids, mean, embedder: req.source === 'supplied' ? null : embedder };
  return { result, model };
}

/** Scores of new prompts with a kept clustering (evaluation, generation). */
export async function scorePrompts(m: IntuitionModel, texts: string[]): Promise<Float32Array> {
  if (!m.embedder) throw new Error('the intuition came from supplied vectors: prompts typed now have none, so give their scores (s) explicitly');
  const e = await m.embedder.embed(texts);
  return relateScores(m.centroids, m.k, m.dim, m.mean ? centreEmbeddings(e, m.mean) : e);
}
