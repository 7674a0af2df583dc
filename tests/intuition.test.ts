// Intuition pieces in Node: purity and NMI on known tables, PCA against an exact eigen
// decomposition, relate scores, and the dataset carrying scores into its batches.
import { describe, expect, it } from 'vitest';
import { nmi, pcaMap, principalAxes, purity, clusterSizes } from '../src/intuition/diagnostics.ts';
import { centreEmbeddings, meanEmbedding, relateScores } from '../src/intuition/intuition.ts';
import { EmbeddingCache, l2normalise, type Embedder } from '../src/intuition/embed.ts';
import { Dataset } from '../src/data/dataset.ts';
import { Random } from '../src/util/random.ts';

/** Eigenvectors of a small symmetric matrix by cyclic Jacobi rotations (an independent check). */
function jacobiEigen(A: number[][]): { values: number[]; vectors: number[][] } {
  const n = A.length;
  const a = A.map((r) => [...r]);
  const v: number[][] = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)));
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p][q] ** 2;
    if (off < 1e-22) break;
    for (let p = 0; p < n; p++)
      for (let q = p + 1; q < n; q++) {
        if (Math.abs(a[p][q]) < 1e-300) continue;
        const theta = (a[q][q] - a[p][p]) / (2 * a[p][q]);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1), s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k][p], akq = a[k][q];
          a[k][p] = c * akp - s * akq;
          a[k][q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p][k], aqk = a[q][k];
          a[p][k] = c * apk - s * aqk;
          a[q][k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k][p], vkq = v[k][q];
          v[k][p] = c * vkp - s * vkq;
          v[k][q] = s * vkp + c * vkq;
        }
      }
  }
  const order = a.map((r, i) => [r[i], i]).sort((x, y) => y[0] - x[0]);
  return { values: order.map(([val]) => val), vectors: order.map(([, i]) => v.map((r) => r[i])) };
}

describe('cluster diagnostics', () => {
  it('purity and NMI on known tables', () => {
    expect(purity([0, 0, 1, 1], [1, 1, 0, 0], 2, 2)).toBe(1);
    expect(nmi([0, 0, 1, 1], [1, 1, 0, 0], 2, 2)).toBeCloseTo(1, 12);
    expect(nmi([0, 1, 0, 1], [0, 0, 1, 1], 2, 2)).toBeCloseTo(0, 12);
    expect(purity([0, 0, 0, 1], [0, 0, 1, 1], 2, 2)).toBe(0.75);
    // I = 0.2158, H(C) = 0.5623, H(T) = 0.6931 (natural logs), by hand for this 2 x 2 table.
    const c = [0, 0, 0, 1], t = [0, 0, 1, 1];
    const I = (2 / 4) * Math.log((4 * 2) / (3 * 2)) + (1 / 4) * Math.log((4 * 1) / (3 * 2)) + (1 / 4) * Math.log((4 * 1) / (1 * 2));
    const hc = -(0.75 * Math.log(0.75) + 0.25 * Math.log(0.25)), ht = Math.log(2);
    expect(nmi(c, t, 2, 2)).toBeCloseTo(I / Math.sqrt(hc * ht), 12);
    expect(clusterSizes([2, 0, 2, 2], 3)).toEqual([1, 0, 3]);
  });

  it('PCA axes and variances match an exact eigen decomposition', () => {
    const rng = new Random(3);
    const n = 400, d = 5;
    const pts = new Float32Array(n * d);
    const scales = [3, 1.5, 0.7, 0.3, 0.1];
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) pts[i * d + j] = (rng.next() * 2 - 1) * scales[j] + (j === 1 ? 0.8 * pts[i * d] : 0);
    const { mean, axes } = principalAxes(pts, n, d, 2, 2000);
    const cov = Array.from({ length: d }, () => new Array<number>(d).fill(0));
    for (let i = 0; i < n; i++) for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) cov[a][b] += ((pts[i * d + a] - mean[a]) * (pts[i * d + b] - mean[b])) / n;
    const eig = jacobiEigen(cov);
    for (let k = 0; k < 2; k++) {
      const dot = axes[k].reduce((s, x, j) => s + x * eig.vectors[k][j], 0);
      expect(Math.abs(dot)).toBeCloseTo(1, 6);
    }
    const map = pcaMap(pts, n, d, pts.subarray(0, 2 * d), 2);
    // Variance along the first map axis = the top eigenvalue.
    let v0 = 0;
    for (let i = 0; i < n; i++) v0 += map.points[i * 2] ** 2 / n;
    expect(v0).toBeCloseTo(eig.values[0], 3);
    expect(Array.from(map.centroids)).toEqual(Array.from(map.points.subarray(0, 4)));
  });
});

describe('relate scores', () => {
  it('s = C e, rows carried into batches', async () => {
    const C = Float32Array.from([1, 0, 0, 0, 1, 0]); // k = 2, d = 3
    const e = l2normalise(Float32Array.from([3, 4, 0, 0, 0, 2]), 3);
    expect(Array.from(relateScores(C, 2, 3, e))).toEqual([0.6000000238418579, 0.800000011920929, 0, 0]);
    const text = Array.from({ length: 6 }, (_, i) => JSON.stringify({ text: `row ${i}` })).join('\n');
    const { TextTokenizer } = await import('../src/model/tokenizer.ts');
    const { readFileSync } = await import('node:fs');
    const { MODELS_DIR } = await import('./modelFixtures.ts');
    const j = (f: string) => JSON.parse(readFileSync(`${MODELS_DIR}/tiny-gpt2/${f}`, 'utf8'));
    const tok = new TextTokenizer(j('tokenizer.json'), j('tokenizer_config.json'));
    const ds = await Dataset.import({ name: 't.jsonl', text }, { validationFraction: 0 }, { tok, eosId: tok.eosId, maxPositions: 64 });
    expect(ds.peekBatches({ split: 'train', count: 1, batchSize: 2 })[0].s).toBeNull();
    const rows = ds.rows('train');
    ds.setIntuitionScores(rows, Float32Array.from(rows.flatMap((r) => [r, -r])), 2);
    const [b] = ds.peekBatches({ split: 'train', count: 1, batchSize: 3 });
    expect(b.s).toEqual(b.rows.flatMap((r) => [r, -r]));
    expect(ds.intuitionK).toBe(2);
  });
});

describe('centred embeddings', () => {
  it('subtracts the training mean and renormalises; nearly parallel vectors spread apart', () => {
    // Three unit vectors within a few degrees of each other, as a small model's pooled states are.
    const e = l2normalise(Float32Array.from([1, 0.05, 0, 1, -0.05, 0, 1, 0, 0.05]), 3);
    const mean = meanEmbedding(e, 3, 3);
    for (let j = 0; j < 3; j++) expect(mean[j]).toBeCloseTo((e[j] + e[3 + j] + e[6 + j]) / 3, 7);
    const raw = relateScores(e.slice(0, 6), 2, 3, e);
    const c = centreEmbeddings(e.slice(), mean);
    for (let i = 0; i < 3; i++) expect(Math.hypot(c[3 * i], c[3 * i + 1], c[3 * i + 2])).toBeCloseTo(1, 6);
    const centred = relateScores(c.slice(0, 6), 2, 3, c);
    const spread = (s: Float32Array) => Math.max(...[0, 1, 2].map((i) => Math.abs(s[2 * i] - s[2 * i + 1])));
    expect(spread(raw)).toBeLessThan(0.01);
    expect(spread(centred)).toBeGreaterThan(1);
    // The first two centred vectors point opposite ways in the second coordinate.
    expect(centred[1]).toBeLessThan(-0.5);
  });

  it('a vector equal to the mean becomes zero, not NaN', () => {
    const e = Float32Array.from([0.6, 0.8]);
    expect(Array.from(centreEmbeddings(e, Float32Array.from([0.6, 0.8])))).toEqual([0, 0]);
  });
});

describe('EmbeddingCache', () => {
  const counting = () => {
    const calls: string[][] = [];
    const e: Embedder & { layer: number } = {
      source: 'model', dim: 2, layer: 3,
      async embed(texts) {
        calls.push(texts);
        return Float32Array.from(texts.flatMap((t) => [t.length, 1]));
      },
    };
    return { e, calls };
  };

  it('embeds the same texts under the same key once, returns copies, and keeps the layer', async () => {
    const { e, calls } = counting();
    const cache = new EmbeddingCache();
    const w = cache.wrap('k', e);
    expect((w as { layer?: number }).layer).toBe(3);
    const a = await w.embed(['ab', 'c']);
    a[0] = 99; // a caller's change does not reach the cache
    const progress: number[][] = [];
    const b = await cache.wrap('k', e).embed(['ab', 'c'], (d, t) => progress.push([d, t]));
    expect(Array.from(b)).toEqual([2, 1, 1, 1]);
    expect(calls.length).toBe(1);
    expect(cache.hits).toBe(1);
    expect(progress).toEqual([[2, 2]]);
  });

  it('embeds again for another key or other texts', async () => {
    const { e, calls } = counting();
    const cache = new EmbeddingCache();
    await cache.wrap('k', e).embed(['ab', 'c']);
    await cache.wrap('other layer', e).embed(['ab', 'c']);
    await cache.wrap('other layer', e).embed(['ab', 'd']);
    await cache.wrap('other layer', e).embed(['ab']);
    expect(calls.length).toBe(4);
    cache.clear();
    await cache.wrap('other layer', e).embed(['ab']);
    expect(calls.length).toBe(5);
    expect(cache.hits).toBe(0);
  });
});
