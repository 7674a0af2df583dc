// k-means on the GPU (window.mor1e.kmeans, through the app's worker) against the float64
// reference (src/reference/kmeans.ts) with the same seed: identical assignments, iterations and
// restart on well-separated blobs; identical results with exact ties and empty clusters; inertia
// within 1e-5 relative on random data; restarts; the error messages. Then each kernel alone on
// the harness page (outputs poisoned), at shapes spanning several centroid lanes, dimension
// tiles, centroid groups and point chunks. Shapes are odd on purpose.
import { test, expect } from './fixtures.ts';
import type { Page } from '@playwright/test';
import { kmeans, kmeansAssign, kmeansDist, kmeansUpdate, type KmeansReferenceResult } from '../src/reference/kmeans.ts';
import { f32, maxRelError, rand32, rng, seeded, u32 } from './util.ts';
import { assignSlices, type AssignTuning } from '../src/ops/kmeans.ts';

interface Req {
  points: number[];
  n: number;
  d: number;
  k: number;
  seed: number;
  restarts?: number;
  maxIter?: number;
}

interface Out {
  centroids: number[];
  assignments: number[];
  inertia: number;
  iterations: number;
  restart: number;
}

async function openApp(page: Page): Promise<void> {
  await page.goto('/');
  await expect(page.getByTestId('gpu-status')).toHaveAttribute('data-status', 'ready', { timeout: 60_000 });
  const gpu = await page.evaluate(() => window.mor1e!.gpuStatus());
  console.log(`[gpu] ${JSON.stringify(gpu).slice(0, 200)}`);
}

function gpuKmeans(page: Page, req: Req): Promise<Out> {
  return page.evaluate(async (r) => {
    const out = await window.mor1e!.kmeans({ ...r, points: new Float32Array(r.points) });
    return { ...out, centroids: Array.from(out.centroids), assignments: Array.from(out.assignments) };
  }, req);
}

function reference(req: Req): KmeansReferenceResult {
  return kmeans(Float32Array.from(req.points), req.n, req.d, req.k, { seed: req.seed, restarts: req.restarts, maxIter: req.maxIter });
}

/** f32-exact points: `count` blobs around centres in [-10, 10)^d, each coordinate ± spread. */
function blobs(n: number, d: number, count: number, spread: number, seed: number) {
  const r = rng(seed);
  const centres = Array.from({ length: count * d }, () => (r() * 2 - 1) * 10);
  const labels = Array.from({ length: n }, (_, i) => (i * 7) % count);
  const points = Array.from(Float32Array.from({ length: n * d }, (_, e) => centres[labels[Math.floor(e / d)] * d + (e % d)] + (r() * 2 - 1) * spread));
  return { points, labels };
}

const uniform = (count: number, seed: number) => {
  const r = rng(seed);
  return Array.from(Float32Array.from({ length: count }, () => r()));
};


test('k-means: GPU equals the float64 reference (blobs, ties, empty clusters, random data, restarts) and rejects bad input', async ({ page }) => {
  test.setTimeout(150_000);
  await openApp(page);

  // Well-separated blobs: identical assignments, iterations, kept restart; centroids and inertia to f32 rounding.
  const n = 301, d = 37, k = 5;
  const { points, labels } = blobs(n, d, k, 1, 11);
  for (const req of [{ points, n, d, k, seed: 3 }, { points, n, d, k, seed: 8, restarts: 3 }]) {
    const [gpu, ref] = [await gpuKmeans(page, req), reference(req)];
    expect(gpu.assignments).toEqual([...ref.assignments]);
    expect(gpu.iterations).toBe(ref.iterations);
    expect(gpu.restart).toBe(ref.restart);
    expect(maxRelError(gpu.centroids, ref.centroids)).toBeLessThan(1e-5);
    expect(Math.abs(gpu.inertia - ref.inertia) / ref.inertia).toBeLessThan(1e-5);
    // and the blobs are found: one cluster per blob
    const byBlob = new Map<number, Set<number>>();
    labels.forEach((b, i) => byBlob.set(b, (byBlob.get(b) ?? new Set()).add(gpu.assignments[i])));
    expect([...byBlob.values()].map((s) => s.size)).toEqual([1, 1, 1, 1, 1]);
  }

  // Exact ties and empty clusters: 3 distinct integer points, k = 20, so k-means++ repeats points
  // (S = 0 draws) and equal centroids at different indices (and workgroup lanes) tie exactly.
  {
    const distinct = [[0, 2, -1], [3, 3, 3], [-4, 0, 1]];
    const pts = Array.from({ length: 61 }, (_, i) => distinct[(i * 5) % 3]).flat();
    for (const seed of [1, 2]) {
      const req = { points: pts, n: 61, d: 3, k: 20, seed };
      const [gpu, ref] = [await gpuKmeans(page, req), reference(req)];
      expect(gpu.assignments).toEqual([...ref.assignments]);
      expect(gpu.centroids).toEqual([...ref.centroids]);
      expect(gpu.iterations).toBe(ref.iterations);
      expect(gpu.inertia).toBe(0);
      expect(new Set(gpu.assignments).size).toBe(3); // 17 clusters stay empty, keeping their centroids
    }
    // Points equidistant from two k-means++ centres go to the lower index (maxIter 0: the init's assignment).
    const tie = { points: [-1, 0, 1, 0, 0, 0, 0, 1, 0, -1, 0, 2], n: 6, d: 2, k: 2, maxIter: 0, seed: 0 };
    while (reference(tie).centroids.join() !== '-1,0,1,0' && reference(tie).centroids.join() !== '1,0,-1,0') tie.seed++;
    const [gpu, ref] = [await gpuKmeans(page, tie), reference(tie)];
    expect(gpu.assignments).toEqual([...ref.assignments]);
    expect(gpu.assignments.slice(2)).toEqual([0, 0, 0, 0]);
  }

  // Random data: same seed, inertia within 1e-5 relative (and, barring f32 near-ties, the same clustering).
  for (const [nn, dd, kk, seed, restarts] of [[257, 19, 7, 3, 1], [333, 9, 13, 10, 4]]) {
    const req = { points: uniform(nn * dd, 100 + seed), n: nn, d: dd, k: kk, seed, restarts };
    const [gpu, ref] = [await gpuKmeans(page, req), reference(req)];
    console.log(`[kmeans] random n=${nn} d=${dd} k=${kk} restarts=${restarts}: gpu ${gpu.inertia} (${gpu.iterations} it, restart ${gpu.restart}), ref ${ref.inertia} (${ref.iterations} it, restart ${ref.restart})`);
    expect(Math.abs(gpu.inertia - ref.inertia) / ref.inertia).toBeLessThan(1e-5);
    expect(gpu.restart).toBe(ref.restart);
    if (restarts > 1) expect(ref.restart).toBeGreaterThan(0); // a later restart wins, so keeping the lowest is tested
    expect(gpu.assignments.filter((a, i) => a !== ref.assignments[i]).length).toBeLessThanOrEqual(nn / 100);
  }

  // Bad input: the worker's message comes back.
  const bad = async (req: Req) => page.evaluate(async (r) => {
    try {
      await window.mor1e!.kmeans({ ...r, points: new Float32Array(r.points) });
      return 'resolved';
    } catch (e) {
      return e instanceof Error ? e.message : String(e);
    }
  }, req);
  expect(await bad({ points: [0, 1, 2, 3], n: 2, d: 2, k: 3, seed: 1 })).toContain('k = 3 clusters need at least k points, got n = 2');
  expect(await bad({ points: [0, 1, 2], n: 2, d: 2, k: 1, seed: 1 })).toContain('points has 3 values, expected n·d = 2·2 = 4');
  expect(await bad({ points: [0, 1, NaN, 3], n: 2, d: 2, k: 1, seed: 1 })).toContain('points[2] (point 1, dimension 0) is NaN, not finite');
  expect(await bad({ points: [0, 1, 2, 3], n: 2, d: 2, k: 0, seed: 1 })).toContain('k must be a positive integer, got 0');
  expect(await bad({ points: [0, 1, 2, 3], n: 2, d: 2, k: 1, seed: 1, restarts: 0 })).toContain('restarts must be a positive integer');
  expect(await page.evaluate(() => window.mor1e!.gpuErrors())).toEqual([]);
});

/** u32 values read back through the harness (which reads f32) and u32 values to write as f32 bits. */
const bitsToU32 = (a: number[]) => Array.from(new Uint32Array(Float32Array.from(a).buffer));
const u32AsF32 = (a: ArrayLike<number>) => Array.from(new Float32Array(Uint32Array.from(a).buffer));

test.describe('kernels', () => {
  test.afterEach(async ({ gpu }) => {
    await gpu.expectNoGpuErrors();
  });

  for (const [N, D, K] of [[1, 1, 1], [67, 5, 3], [301, 130, 70], [1100, 33, 9]]) {
    test(`kmeans_assign N=${N} D=${D} K=${K}: nearest centroid, exact ties to the lower index, D² merge`, async ({ gpu }) => {
      const r = seeded(`kmeans_assign ${N} ${D} ${K}`);
      const points = rand32(N * D, r), centroids = rand32(K * D, r);
      if (K >= 3 && N >= 2) {
        // Centroid K-1 duplicates centroid 0, K-2 duplicates 1; points 0 and 1 sit on 0 and K-2.
        centroids.copyWithin((K - 1) * D, 0, D);
        centroids.copyWithin((K - 2) * D, D, 2 * D);
        points.set(centroids.subarray(0, D), 0);
        points.set(centroids.subarray((K - 2) * D, (K - 1) * D), D);
      }
      const old = Array.from({ length: N }, (_, i) => (i * 5) % K);
      const shape = { N, D, k0: 0, k1: K };
      const dist = new Float64Array(N), assign = Int32Array.from(old), changed = new Float64Array(N);
      kmeansAssign(dist, assign, changed, points, centroids, shape);
      if (K >= 3 && N >= 2) expect([assign[0], assign[1], dist[0], dist[1]]).toEqual([0, 1, 0, 0]);
      const tunings: AssignTuning[] = [{}, { lanes: 1 }, { lanes: 8 }, { variant: 'point' }, { variant: 'point', slices: 1 }, { variant: 'point', slices: 64 }];
      const tiledDist: number[][] = [];
      for (const tune of tunings) {
        const got = await gpu.run({
          op: 'kmeansAssign', inputs: { points: f32(points), centroids: f32(centroids) },
          outputs: { dist: { length: N }, assign: { length: N, init: u32AsF32(old) }, changed: { length: N } }, args: { shape, merge: false, tune },
        });
        expect(bitsToU32(got.assign), JSON.stringify(tune)).toEqual([...assign]);
        expect(maxRelError(got.dist, dist)).toBeLessThan(1e-5);
        expect(got.changed).toEqual([...changed]);
        if (tune.variant !== 'point') tiledDist.push(got.dist);
      }
      for (const d of tiledDist) expect(d).toEqual(tiledDist[0]); // the lanes do not change a distance's bits
      if (K < 2) return;
      // Merge centroids [1, K) into the distances to centroid 0, both passes on the GPU (K-1 ties
      // with 0: the stored 0 stays). The tiled kernel sums dimensions in order whatever its lanes,
      // so its distances are the same bits in both passes; the point variant needs equal SLICES.
      const d0 = new Float64Array(N), a0 = new Int32Array(N);
      kmeansAssign(d0, a0, new Float64Array(N), points, centroids, { N, D, k0: 0, k1: 1 });
      const dm = Float64Array.from(d0), am = Int32Array.from(a0);
      kmeansAssign(dm, am, new Float64Array(N), points, centroids, { N, D, k0: 1, k1: K }, true);
      expect([...am]).toEqual([...assign]);
      for (const tune of [{}, { variant: 'point', slices: assignSlices(K - 1) }] as AssignTuning[]) {
        const first = await gpu.run({
          op: 'kmeansAssign', inputs: { points: f32(points), centroids: f32(centroids) },
          outputs: { dist: { length: N }, assign: { length: N }, changed: { length: N } }, args: { shape: { N, D, k0: 0, k1: 1 }, merge: false, tune },
        });
        expect(bitsToU32(first.assign)).toEqual([...a0]);
        const got = await gpu.run({
          op: 'kmeansAssign', inputs: { points: f32(points), centroids: f32(centroids) },
          outputs: { dist: { length: N, init: first.dist }, assign: { length: N, init: first.assign }, changed: { length: N } },
          args: { shape: { N, D, k0: 1, k1: K }, merge: true, tune },
        });
        expect(bitsToU32(got.assign), JSON.stringify(tune)).toEqual([...am]);
        expect(maxRelError(got.dist, dm)).toBeLessThan(1e-5);
      }
    });
  }

  for (const [N, D] of [[1, 1], [301, 130]]) {
    test(`kmeans_dist N=${N} D=${D}: the k-means++ D² update, first centre then merged`, async ({ gpu }) => {
      const r = seeded(`kmeans_dist ${N} ${D}`);
      const points = rand32(N * D, r), centroids = rand32(4 * D, r);
      if (N > 1) points.set(centroids.subarray(2 * D, 3 * D), 5 * D); // point 5 sits on centre 2: D² 0
      const first = new Float64Array(N);
      kmeansDist(first, points, centroids, { N, D, j: 1 });
      const got = await gpu.run({ op: 'kmeansDist', inputs: { points: f32(points), centroids: f32(centroids) }, outputs: { dist: { length: N } }, args: { shape: { N, D, j: 1 }, merge: false } });
      expect(maxRelError(got.dist, first)).toBeLessThan(1e-5);
      const merged = Float64Array.from(got.dist);
      kmeansDist(merged, points, centroids, { N, D, j: 2 }, true);
      const m = await gpu.run({ op: 'kmeansDist', inputs: { points: f32(points), centroids: f32(centroids) }, outputs: { dist: { length: N, init: got.dist } }, args: { shape: { N, D, j: 2 }, merge: true } });
      expect(maxRelError(m.dist, merged)).toBeLessThan(1e-5);
      if (N === 1) return;
      expect(m.dist[5]).toBe(0);
      // a real minimum: some distances stay, some are replaced
      expect(m.dist.filter((v, i) => v === got.dist[i]).length).toBeGreaterThan(0);
      expect(m.dist.filter((v, i) => v < got.dist[i]).length).toBeGreaterThan(0);
    });
  }

  for (const [N, D, K, chunk] of [[1, 1, 1, undefined], [50, 3, 4, 7], [600, 130, 70, undefined]] as const) {
    test(`kmeans_sums + kmeans_update N=${N} D=${D} K=${K}${chunk ? ` chunk=${chunk}` : ''}: means, an empty cluster keeps its centroid, a singleton`, async ({ gpu }) => {
      const r = seeded(`kmeans_update ${N} ${D} ${K}`);
      const points = rand32(N * D, r), init = rand32(K * D, r);
      // Cluster 0 holds only the last point; K-1 is empty (K ≥ 3); the rest are random.
      const assign = Int32Array.from({ length: N }, (_, i) => (i === N - 1 || K < 3 ? 0 : 1 + Math.floor(r() * (K - 2))));
      const centroids = Float64Array.from(init);
      kmeansUpdate(centroids, points, assign, { N, D, K });
      const got = await gpu.run({
        op: 'kmeansUpdate', inputs: { points: f32(points), assign: u32(assign) },
        outputs: { centroids: { length: K * D, init: Array.from(init) } }, args: { shape: { N, D, K }, chunk },
      });
      expect(maxRelError(got.centroids, centroids)).toBeLessThan(1e-5);
      expect(got.centroids.slice(0, D)).toEqual(Array.from(points.subarray((N - 1) * D))); // singleton: its point, exactly
      if (K >= 3) expect(got.centroids.slice((K - 1) * D)).toEqual(Array.from(init.subarray((K - 1) * D))); // empty: kept
    });
  }
});
