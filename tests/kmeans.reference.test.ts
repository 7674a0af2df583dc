// The float64 k-means reference (src/reference/kmeans.ts): k-means++ draws by hand, ties, empty
// clusters, restarts, determinism, monotone inertia; and the two mulberry32 generators (the
// reference's rng, the app's Random) drawing identical sequences, which the GPU parity relies on.
import { describe, expect, it } from 'vitest';
import { rng } from '../src/reference/gradcheck.ts';
import { Random } from '../src/util/random.ts';
import { kmeans, kmeansAssign, kmeansDist, kmeansPlusPlus, kmeansUpdate, plusPlusPick, restartSeed } from '../src/reference/kmeans.ts';

/** Uniform points in [0, 1)^d, rounded to f32 as the GPU would see them. */
function randomPoints(n: number, d: number, seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n * d }, () => r());
}

/** Blobs around `centres` (one per row), spread ±spread, labels in point order. */
function blobs(centres: number[][], perBlob: number, spread: number, seed: number) {
  const r = rng(seed);
  const d = centres[0].length;
  const points: number[] = [];
  const labels: number[] = [];
  for (let i = 0; i < centres.length * perBlob; i++) {
    const b = (i * 7) % centres.length; // interleaved, so blob order is not point order
    labels.push(b);
    for (let c = 0; c < d; c++) points.push(centres[b][c] + (r() * 2 - 1) * spread);
  }
  return { points: Float32Array.from(points), labels, n: centres.length * perBlob, d };
}

/** a and b partition the points the same way (up to renaming the clusters). */
function samePartition(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  const ab = new Map<number, number>();
  const ba = new Map<number, number>();
  for (let i = 0; i < a.length; i++) {
    if ((ab.get(a[i]) ?? b[i]) !== b[i] || (ba.get(b[i]) ?? a[i]) !== a[i]) return false;
    ab.set(a[i], b[i]);
    ba.set(b[i], a[i]);
  }
  return true;
}

const sq = (x: ArrayLike<number>, i: number, c: ArrayLike<number>, j: number, d: number) => {
  let s = 0;
  for (let t = 0; t < d; t++) s += (x[i * d + t] - c[j * d + t]) ** 2;
  return s;
};

describe('random generators', () => {
  it('the reference rng and the app Random draw identical sequences', () => {
    for (const seed of [0, 1, 42, 123456789, 0xffffffff, restartSeed(7, 3)]) {
      const a = rng(seed);
      const b = new Random(seed);
      for (let i = 0; i < 2000; i++) {
        const x = a();
        expect(b.next()).toBe(x);
      }
      const c = rng(seed), e = new Random(seed);
      for (let i = 0; i < 200; i++) expect(e.int(301)).toBe(Math.floor(c() * 301));
    }
  });

  it('restart seeds: restart 0 is the seed itself, the others distinct u32s', () => {
    expect(restartSeed(5, 0)).toBe(5);
    expect(restartSeed(5, 1)).toBe((5 + 0x9e3779b9) >>> 0);
    const s = new Set(Array.from({ length: 100 }, (_, r) => restartSeed(99, r)));
    expect(s.size).toBe(100);
    expect([...s].every((x) => Number.isInteger(x) && x >= 0 && x < 2 ** 32)).toBe(true);
  });
});

describe('k-means++', () => {
  it('picks the first point whose running D² sum exceeds r·S', () => {
    const d2 = [0, 1, 100, 121];
    expect(plusPlusPick(d2, 0)).toBe(1); // zero-D² points are never picked
    expect(plusPlusPick(d2, 1 / 222)).toBe(2); // running sum 1 does not exceed 1
    expect(plusPlusPick(d2, 0.5)).toBe(3);
    expect(plusPlusPick(d2, 0.999999)).toBe(3);
    expect(plusPlusPick([0, 0, 0, 0, 0], 0.7)).toBe(3); // S = 0: uniform, floor(r·N)
  });

  it('draws centres by hand on a 1-d example', () => {
    const x = [0, 1, 10, 11, 20];
    const draws = [0.6, 0.3, 0.9];
    const rand = () => draws.shift()!;
    // Centre 0: floor(0.6·5) = 3 (x = 11). D² = [121, 100, 1, 0, 81], S = 303, 0.3·S = 90.9 → point 0.
    // D² with x = 0 merged: [0, 1, 1, 0, 81], S = 83, 0.9·S = 74.7 → running 0,1,2,2,83 → point 4.
    expect(kmeansPlusPlus(x, 5, 1, 3, rand)).toEqual([3, 0, 4]);
  });
});

describe('assignment and update', () => {
  it('ties go to the lower centroid index, also when merging D²', () => {
    const dist = new Float64Array(2), assign = new Int32Array(2), changed = new Float64Array(2);
    // Points 0 and 3; centroids 1, -1, 5, 1 (the first and last are equal).
    kmeansAssign(dist, assign, changed, [0, 3], [1, -1, 5, 1], { N: 2, D: 1, k0: 0, k1: 4 });
    expect([...assign]).toEqual([0, 0]); // 0: |1| = |-1| → 0; 3: 4 = 4 to centroids 0 (1), 2 (5), 3 (1) → 0
    expect([...dist]).toEqual([1, 4]);
    expect([...changed]).toEqual([0, 0]); // assign started at 0
    // Merging centroid 2 (x = 5): equal to the stored 4 for point 3 → kept.
    kmeansAssign(dist, assign, changed, [0, 3], [1, -1, 5, 1], { N: 2, D: 1, k0: 2, k1: 3 }, true);
    expect([...assign]).toEqual([0, 0]);
    // Merging a strictly nearer centroid replaces.
    kmeansAssign(dist, assign, changed, [0, 3], [1, -1, 5, 3.5], { N: 2, D: 1, k0: 3, k1: 4 }, true);
    expect([...assign]).toEqual([0, 3]);
    expect([...changed]).toEqual([0, 1]);
    expect(dist[1]).toBe(0.25);
  });

  it('kmeansDist merged centre by centre equals the distance kmeansAssign finds over the range', () => {
    const N = 40, D = 6, K = 5;
    const x = randomPoints(N, D, 8), c = randomPoints(K, D, 9);
    const d2 = new Float64Array(N);
    kmeansDist(d2, x, c, { N, D, j: 0 });
    for (let j = 1; j < K; j++) kmeansDist(d2, x, c, { N, D, j }, true);
    const dist = new Float64Array(N);
    kmeansAssign(dist, new Int32Array(N), new Float64Array(N), x, c, { N, D, k0: 0, k1: K });
    expect([...d2]).toEqual([...dist]);
    const one = new Float64Array(N);
    kmeansDist(one, [3, 4], [0, 0], { N: 1, D: 2, j: 0 });
    expect(one[0]).toBe(25);
    kmeansDist(one, [3, 4], [0, 0, 3, 3], { N: 1, D: 2, j: 1 }, true);
    expect(one[0]).toBe(1);
    kmeansDist(one, [3, 4], [0, 0, 3, 3, 9, 9], { N: 1, D: 2, j: 2 }, true);
    expect(one[0]).toBe(1); // a farther centre leaves the minimum
  });

  it('update: means of assigned points; an empty cluster keeps its centroid', () => {
    const c = Float64Array.from([9, 9, 7, 7, 5, 5]);
    kmeansUpdate(c, [0, 0, 2, 4, 10, 10], Int32Array.from([0, 0, 2]), { N: 3, D: 2, K: 3 });
    expect([...c]).toEqual([1, 2, 7, 7, 10, 10]);
  });

  it('four well-separated 2-d blobs: the blob partition, centroids = blob means', () => {
    const { points, labels, n, d } = blobs([[0, 0], [10, 0], [0, 10], [10, 10]], 9, 1, 3);
    for (const seed of [1, 2, 3, 4, 5]) {
      const r = kmeans(points, n, d, 4, { seed, restarts: 3 });
      expect(samePartition(r.assignments, labels)).toBe(true);
      for (let j = 0; j < 4; j++) {
        const members = [...r.assignments.keys()].filter((i) => r.assignments[i] === j);
        for (let t = 0; t < d; t++) expect(r.centroids[j * d + t]).toBeCloseTo(members.reduce((s, i) => s + points[i * d + t], 0) / members.length, 12);
      }
    }
  });

  it('a hand case: 1-d pairs {0, 1} and {10, 11} with k = 2', () => {
    const r = kmeans([0, 1, 10, 11], 4, 1, 2, { seed: 1 });
    expect(samePartition(r.assignments, [0, 0, 1, 1])).toBe(true);
    expect([...r.centroids].sort((a, b) => a - b)).toEqual([0.5, 10.5]);
    expect(r.inertia).toBe(1);
  });
});

describe('k-means loop', () => {
  it('an empty cluster (a duplicate centre) keeps its centroid and gets no points', () => {
    // Two distinct values for three centres: k-means++ must repeat a point (S = 0 → uniform).
    const x = [0, 0, 0, 0, 5];
    for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
      const r = kmeans(x, 5, 1, 3, { seed });
      const counts = [0, 1, 2].map((j) => r.assignments.filter((a) => a === j).length);
      const empty = counts.indexOf(0);
      expect(counts.filter((c) => c === 0)).toHaveLength(1);
      expect(r.inertia).toBe(0);
      // The empty one duplicates a lower-indexed centroid (ties go to the lower index).
      const twin = [0, 1, 2].find((j) => j !== empty && r.centroids[j] === r.centroids[empty]);
      expect(twin).toBeDefined();
      expect(twin!).toBeLessThan(empty);
      expect([0, 5]).toContain(r.centroids[empty]);
    }
  });

  it('is deterministic per seed; different seeds start differently', () => {
    const x = randomPoints(120, 5, 11);
    const a = kmeans(x, 120, 5, 6, { seed: 17, restarts: 2 });
    const b = kmeans(x, 120, 5, 6, { seed: 17, restarts: 2 });
    expect(b).toEqual(a);
    const inits = new Set([1, 2, 3, 4].map((s) => kmeansPlusPlus(x, 120, 5, 6, rng(s)).join(',')));
    expect(inits.size).toBe(4);
  });

  it('inertia never increases across iterations; stops when nothing changes; the result is consistent', () => {
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const n = 200, d = 7, k = 9;
      const x = randomPoints(n, d, 100 + seed);
      const r = kmeans(x, n, d, k, { seed });
      expect(r.history).toHaveLength(r.iterations + 1);
      for (let i = 1; i < r.history.length; i++) expect(r.history[i]).toBeLessThanOrEqual(r.history[i - 1] * (1 + 1e-12));
      expect(r.history[r.history.length - 1]).toBeLessThan(r.history[0]);
      expect(r.iterations).toBeLessThan(100);
      // Converged: every point is at its nearest centroid (ties lower), every centroid is its cluster's mean.
      let inertia = 0;
      for (let i = 0; i < n; i++) {
        const ds = Array.from({ length: k }, (_, j) => sq(x, i, r.centroids, j, d));
        expect(r.assignments[i]).toBe(ds.indexOf(Math.min(...ds)));
        inertia += ds[r.assignments[i]];
      }
      expect(r.inertia).toBeCloseTo(inertia, 9);
      const again = Float64Array.from(r.centroids);
      kmeansUpdate(again, x, r.assignments, { N: n, D: d, K: k });
      expect([...again]).toEqual([...r.centroids]);
    }
  });

  it('maxIter bounds the iterations; maxIter = 0 keeps the k-means++ centres', () => {
    const x = randomPoints(150, 4, 5);
    const r = kmeans(x, 150, 4, 8, { seed: 3, maxIter: 2 });
    expect(r.iterations).toBe(2);
    const z = kmeans(x, 150, 4, 8, { seed: 3, maxIter: 0 });
    expect(z.iterations).toBe(0);
    const init = kmeansPlusPlus(x, 150, 4, 8, rng(3));
    expect([...z.centroids]).toEqual(init.flatMap((i) => [...x.subarray(i * 4, i * 4 + 4)]));
  });

  it('restarts keep the lowest inertia; each restart is the run of its own seed', () => {
    const n = 180, d = 3, k = 12;
    const x = randomPoints(n, d, 77);
    const r = kmeans(x, n, d, k, { seed: 5, restarts: 6 });
    expect(r.inertias).toHaveLength(6);
    expect(new Set(r.inertias).size).toBeGreaterThan(1); // the restarts do land in different minima
    expect(r.inertia).toBe(Math.min(...r.inertias));
    expect(r.restart).toBe(r.inertias.indexOf(r.inertia));
    for (let q = 0; q < 6; q++) {
      const single = kmeans(x, n, d, k, { seed: restartSeed(5, q) });
      expect(single.inertia).toBe(r.inertias[q]);
      if (q === r.restart) expect(single.assignments).toEqual(r.assignments);
    }
    expect(kmeans(x, n, d, k, { seed: 5, restarts: 1 }).inertia).toBe(r.inertias[0]);
  });

  it('rejects bad arguments with clear messages', () => {
    const x = [0, 1, 2, 3];
    expect(() => kmeans(x, 2, 2, 3, { seed: 1 })).toThrow('k = 3 clusters need at least k points, got n = 2');
    expect(() => kmeans(x, 3, 2, 2, { seed: 1 })).toThrow('points has 4 values, expected n·d = 3·2 = 6');
    expect(() => kmeans([0, NaN, 2, 3], 2, 2, 1, { seed: 1 })).toThrow('points[1] (point 0, dimension 1) is NaN, not finite');
    expect(() => kmeans(x, 2, 2, 0, { seed: 1 })).toThrow('k must be a positive integer, got 0');
    expect(() => kmeans(x, 2, 2, 1, { seed: 1.5 })).toThrow('seed must be an integer');
    expect(() => kmeans(x, 2, 2, 1, { seed: 1, restarts: 0 })).toThrow('restarts must be a positive integer');
  });
});
