// GPU parity for one adapted layer of every method (issue: the paper's core), through the app's
// window.mor1e.adapterLayer, against the float64 reference of src/reference/adapter.ts: odd
// shapes (n = 37, m = 53, T = 19, E not a power of two), dense and top-k routing with k = 1, 2
// and E, both regularisers, the ablations, padded tokens (the regularisers and statistics
// average over real tokens only), and the intuition mapper (k clusters ≠ E, s_E = M s_k, with
// adapter_mapper_backward checked alone too). The layer poisons what its kernels assign.
import { test, expect, type Page } from '@playwright/test';
import { adapterBackward, adapterDims, adapterForward, adapterMapperBackward, routeStats, type AdapterSpec } from '../src/reference/adapter.ts';
import { maxRelError, rand32, seeded } from './util.ts';

const TOL = 2e-5;

async function openApp(page: Page) {
  await page.goto('/');
  await expect(page.getByTestId('gpu-status')).toHaveAttribute('data-status', 'ready', { timeout: 60_000 });
}

function makeTensors(spec: AdapterSpec, name: string) {
  const r = seeded(name);
  const d = adapterDims(spec);
  const { T, n, m } = spec;
  return {
    x: rand32(T * n, r),
    W0: rand32(m * n, r, 0.5),
    bias: rand32(m, r),
    A: rand32(d.rA * n, r, 0.5),
    B: rand32(m * d.rB, r, 0.5),
    Wr: d.E ? rand32(d.E * n, r, 0.5) : null,
    wOmega: d.gated ? Float64Array.from([Math.fround(0.004)]) : null,
    wBeta: d.gated ? Float64Array.from([Math.fround(-0.003)]) : null,
    s: d.gated ? rand32(T * d.k, r) : null,
    dy: rand32(T * m, r),
    // Drawn last, so the cases without a mapper keep their tensors.
    M: d.mapper ? rand32(d.E * d.k, r, 0.7) : null,
  };
}

// Two "sequences" of 10 and 9 tokens, ending in 3 and 4 padding tokens.
const PAD19 = Array.from({ length: 19 }, (_, i) => (i < 7 || (i >= 10 && i < 15) ? 1 : 0));

const cases: Array<[string, AdapterSpec, number[]?]> = [
  ['trex 3x5 dense, odd shapes', { method: 'trex', T: 19, n: 37, m: 53, r1: 3, r2: 5 }],
  ['trex 3x5 top-1', { method: 'trex', T: 19, n: 37, m: 53, r1: 3, r2: 5, topk: 1 }],
  ['trex 3x5 top-2 with entropy and load balance', { method: 'trex', T: 19, n: 37, m: 53, r1: 3, r2: 5, topk: 2, lambdaH: 0.05, lambdaLB: 0.1 }],
  ['trex 3x5 top-k = E (the dense rule)', { method: 'trex', T: 19, n: 37, m: 53, r1: 3, r2: 5, topk: 15 }],
  ['trex 4x8 dense, negative entropy weight', { method: 'trex', T: 7, n: 24, m: 20, r1: 4, r2: 8, lambdaH: -0.1 }],
  ['trex router only (intuition off), top-3', { method: 'trex', T: 9, n: 13, m: 11, r1: 2, r2: 3, topk: 3, useIntuition: false }],
  ['trex intuition only (router off)', { method: 'trex', T: 9, n: 13, m: 11, r1: 2, r2: 3, useRouter: false }],
  ['mor1e E=7 dense with load balance', { method: 'mor1e', T: 19, n: 37, m: 53, E: 7, lambdaLB: 0.2 }],
  ['mor1e E=7 top-2', { method: 'mor1e', T: 19, n: 37, m: 53, E: 7, topk: 2 }],
  ['lora r=5 alpha=10', { method: 'lora', T: 19, n: 37, m: 53, r: 5, alpha: 10 }],
  ['molora r=16', { method: 'molora', T: 19, n: 37, m: 53, r: 16 }],
  ['sira r=16 (top-6 of 8)', { method: 'sira', T: 19, n: 37, m: 53, r: 16 }],
  ['trex 3x5 dense, padded, both regularisers', { method: 'trex', T: 19, n: 37, m: 53, r1: 3, r2: 5, lambdaH: 0.2, lambdaLB: 0.3 }, PAD19],
  ['trex 3x5 top-2, padded, both regularisers', { method: 'trex', T: 19, n: 37, m: 53, r1: 3, r2: 5, topk: 2, lambdaH: -0.1, lambdaLB: 0.4 }, PAD19],
  ['mor1e E=7 dense, padded, both regularisers', { method: 'mor1e', T: 19, n: 37, m: 53, E: 7, lambdaH: 0.3, lambdaLB: 0.2 }, PAD19],
  ['mor1e E=7 top-3, padded, both regularisers', { method: 'mor1e', T: 19, n: 37, m: 53, E: 7, topk: 3, lambdaH: 0.15, lambdaLB: 0.5 }, PAD19],
];

// The intuition mapper: s has k values per token and routing reads s_E = M s_k.
const mapperCases: Array<[string, AdapterSpec, number[]?]> = [
  ['trex 3x5 dense, mapper k=4 < E, odd shapes', { method: 'trex', T: 19, n: 37, m: 53, r1: 3, r2: 5, k: 4 }],
  ['trex 3x5 top-2, mapper k=22 > E', { method: 'trex', T: 19, n: 37, m: 53, r1: 3, r2: 5, topk: 2, k: 22 }],
  ['trex intuition only (router off), mapper k=3', { method: 'trex', T: 9, n: 13, m: 11, r1: 2, r2: 3, useRouter: false, k: 3 }],
  ['mor1e E=7 dense, mapper k=3 < E, load balance', { method: 'mor1e', T: 19, n: 37, m: 53, E: 7, k: 3, lambdaLB: 0.2 }],
  ['mor1e E=7 top-3, mapper k=11 > E, padded, both regularisers', { method: 'mor1e', T: 19, n: 37, m: 53, E: 7, topk: 3, k: 11, lambdaH: 0.15, lambdaLB: 0.5 }, PAD19],
];

test.describe.configure({ mode: 'serial' });

test('every adapter method matches the float64 reference on the GPU', async ({ page }) => {
  await openApp(page);
  await checkLayers(page, cases);
});

test('the intuition mapper (k ≠ E): trex and mor1e, dense and top-k, match the float64 reference', async ({ page }) => {
  await openApp(page);
  await checkLayers(page, mapperCases);
});

async function checkLayers(page: Page, list: Array<[string, AdapterSpec, number[]?]>) {
  for (const [name, spec, mask] of list) {
    const t = { ...makeTensors(spec, name), mask: mask ?? null };
    const ref = adapterForward(spec, t);
    // Keep top-k away from ties, where f32 and f64 could choose differently.
    if (spec.topk && spec.topk < adapterDims(spec).E) {
      for (const rt of ref.routes) {
        const u = rt.p.map((pk, k) => (spec.useRouter === false ? 0 : 32 * ref.w * pk) + (spec.useIntuition === false ? 0 : 4 * (1 - ref.w) * ref.sE![ref.routes.indexOf(rt) * adapterDims(spec).E + k]));
        const sorted = Array.from(u).sort((a, b) => b - a);
        expect(sorted[spec.topk - 1] - sorted[spec.topk], `${name}: top-k margin`).toBeGreaterThan(1e-3);
      }
    }
    const g = adapterBackward(spec, t, ref, t.dy);
    if (mask) {
      // The padding matters here: counting it would move the regularisers well past TOL.
      const all = adapterForward(spec, { ...t, mask: null });
      const gAll = adapterBackward(spec, { ...t, mask: null }, all, t.dy);
      expect(Math.max(maxRelError([all.entropy, all.balance], [ref.entropy, ref.balance]), maxRelError(gAll.dWr!, g.dWr!)), `${name}: padding matters`).toBeGreaterThan(100 * TOL);
    }
    const asF32 = (a: Float64Array | null) => (a ? Array.from(a) : null);
    const got = await page.evaluate(
      ([s, tt]) => {
        const f = (a: number[] | null) => (a ? Float32Array.from(a) : null);
        return window.mor1e!.adapterLayer(s, {
          x: f(tt.x)!, W0: f(tt.W0)!, bias: f(tt.bias), A: f(tt.A)!, B: f(tt.B)!, Wr: f(tt.Wr), wOmega: f(tt.wOmega), wBeta: f(tt.wBeta), s: f(tt.s), M: f(tt.M), mask: f(tt.mask), dy: f(tt.dy)!,
        }).then((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'number' ? v : Array.from(v as Float32Array)])));
      },
      [spec, { x: asF32(t.x), W0: asF32(t.W0), bias: asF32(t.bias), A: asF32(t.A), B: asF32(t.B), Wr: asF32(t.Wr), wOmega: asF32(t.wOmega), wBeta: asF32(t.wBeta), s: asF32(t.s), M: asF32(t.M), mask: t.mask, dy: asF32(t.dy) }] as const,
    );
    const errs: Record<string, number> = {
      y: maxRelError(got.y as number[], ref.y),
      dx: maxRelError(got.dx as number[], g.dx),
      dA: maxRelError(got.dA as number[], g.dA),
      dB: maxRelError(got.dB as number[], g.dB),
    };
    if (g.dWr) errs.dWr = maxRelError(got.dWr as number[], g.dWr);
    if (g.dM) errs.dM = maxRelError(got.dM as number[], g.dM);
    expect(!!got.dM, `${name}: dM returned iff there is a mapper`).toBe(!!g.dM);
    if (adapterDims(spec).gated) {
      errs.dwOmega = maxRelError(got.dwOmega as number[], [g.dwOmega]);
      errs.dwBeta = maxRelError(got.dwBeta as number[], [g.dwBeta]);
      errs.entropy = maxRelError([got.entropy as number], [ref.entropy]);
      errs.balance = maxRelError([got.balance as number], [ref.balance]);
    }
    console.log(`[adapter] ${name}: ${Object.entries(errs).map(([k, v]) => `${k} ${v.toExponential(1)}`).join(', ')}`);
    for (const [k, v] of Object.entries(errs)) expect(v, `${name}: ${k}`).toBeLessThan(TOL);
  }
  expect(await page.evaluate(() => window.mor1e!.gpuErrors())).toEqual([]);
}

test('adapter_mapper_backward alone matches adapterMapperBackward (odd shapes, many workgroups, NaN-poisoned)', async ({ page }) => {
  await page.goto('/e2e/harness.html');
  await page.waitForFunction(() => window.harness !== undefined || window.harnessError !== undefined);
  const shapes: AdapterSpec[] = [
    { method: 'trex', T: 1, n: 1, m: 1, r1: 1, r2: 1, k: 2 },
    { method: 'trex', T: 19, n: 1, m: 1, r1: 3, r2: 5, k: 4 },
    { method: 'mor1e', T: 37, n: 1, m: 1, E: 7, k: 3 },
    { method: 'mor1e', T: 300, n: 1, m: 1, E: 9, k: 5 },
  ];
  for (const spec of shapes) {
    const name = JSON.stringify(spec);
    const r = seeded(name);
    const d = adapterDims(spec);
    const { T } = spec, E = d.E;
    const dh = rand32(T * d.rB, r), proj = rand32(T * (E + d.rA), r);
    // route = p | pk | g; pk > 0 marks the kept experts: about a third are skipped (pk = 0).
    const route = rand32(T * 3 * E, r);
    for (let i = 0; i < T * E; i++) {
      const at = Math.floor(i / E) * 3 * E + E + (i % E);
      route[at] = r() < 0.35 && E > 1 ? 0 : Math.fround(Math.abs(route[at]) + 0.01);
    }
    const gates = [Math.fround(0.004), Math.fround(-0.003)];
    const want = new Float64Array(T * E);
    adapterMapperBackward(want, dh, proj, route, gates, spec);
    const got = await page.evaluate((c) => window.harness!.run(c), {
      op: 'adapterMapperBackward',
      inputs: { dh: { data: Array.from(dh) }, proj: { data: Array.from(proj) }, route: { data: Array.from(route) }, gates: { data: gates } },
      outputs: { dsE: { length: T * E } },
      args: { spec },
    });
    const err = maxRelError(got.dsE, want);
    console.log(`[adapter] mapper backward ${spec.method} T=${T} E=${E}: dsE ${err.toExponential(1)}`);
    expect(err, name).toBeLessThan(TOL);
    // Skipped experts (pk = 0) get exactly 0.
    const skipped = got.dsE.filter((_, i) => route[Math.floor(i / E) * 3 * E + E + (i % E)] === 0);
    if (E > 1) expect(skipped.length, name).toBeGreaterThan(0);
    expect(skipped.every((v) => v === 0), `${name}: skipped experts get 0`).toBe(true);
  }
  expect(await page.evaluate(() => window.harness!.errors())).toEqual([]);
});

test('a tensor of the wrong size is named, and the layer still runs afterwards', async ({ page }) => {
  await openApp(page);
  const spec: AdapterSpec = { method: 'lora', T: 2, n: 3, m: 4, r: 2 };
  await expect(
    page.evaluate((s) => window.mor1e!.adapterLayer(s, { x: new Float32Array(6), W0: new Float32Array(12), A: new Float32Array(5), B: new Float32Array(8), dy: new Float32Array(8) }), spec),
  ).rejects.toThrow(/tensor "A" has 5 values, the spec needs 6/);
  // A mapper (k = 3 ≠ E = 2) needs M (2 x 3) and s of T x k = 2 x 3.
  const mapped: AdapterSpec = { method: 'mor1e', T: 2, n: 3, m: 4, E: 2, k: 3 };
  const base = () => ({ x: new Float32Array(6), W0: new Float32Array(12), A: new Float32Array(6), B: new Float32Array(8), Wr: new Float32Array(6), wOmega: new Float32Array(1), wBeta: new Float32Array(1), dy: new Float32Array(8) });
  await expect(page.evaluate(([s, t]) => window.mor1e!.adapterLayer(s, { ...t, s: new Float32Array(6) }), [mapped, base()] as const)).rejects.toThrow(/missing tensor "M" \(6 values\)/);
  await expect(page.evaluate(([s, t]) => window.mor1e!.adapterLayer(s, { ...t, s: new Float32Array(4), M: new Float32Array(6) }), [mapped, base()] as const)).rejects.toThrow(/tensor "s" has 4 values, the spec needs 6/);
  await expect(
    page.evaluate((s) => window.mor1e!.adapterLayer(s, { x: new Float32Array(6), W0: new Float32Array(12), A: new Float32Array(6), B: new Float32Array(8), mask: new Float32Array(3), dy: new Float32Array(8) }), spec),
  ).rejects.toThrow(/tensor "mask" has 3 values, the spec needs 2/);
  await expect(
    page.evaluate((s) => window.mor1e!.adapterLayer(s, { x: new Float32Array(6), W0: new Float32Array(12), A: new Float32Array(6), B: new Float32Array(8), mask: Float32Array.from([1, 0.5]), dy: new Float32Array(8) }), spec),
  ).rejects.toThrow(/mask\[1\] = 0.5 must be 0 \(padding\) or 1/);
  const r = await page.evaluate((s) => window.mor1e!.adapterLayer(s, { x: new Float32Array(6), W0: new Float32Array(12), A: new Float32Array(6), B: new Float32Array(8), dy: new Float32Array(8) }).then((o) => o.y.length), spec);
  expect(r).toBe(8);
});

test.describe('router statistics on the GPU', () => {
  const stat = (name: string, spec: AdapterSpec, mask: number[] | null = null) => [name, spec, mask] as const;
  for (const [name, spec, mask] of [
    stat('trex 3x5 top-2, three tasks', { method: 'trex', T: 23, n: 9, m: 7, r1: 3, r2: 5, topk: 2 }),
    stat('mor1e E=6 dense, three tasks', { method: 'mor1e', T: 17, n: 8, m: 5, E: 6 }),
    stat('sira r=16, three tasks', { method: 'sira', T: 13, n: 6, m: 4, r: 16 }),
    stat('trex 3x5 top-2, three tasks, padded', { method: 'trex', T: 23, n: 9, m: 7, r1: 3, r2: 5, topk: 2 }, Array.from({ length: 23 }, (_, i) => (i % 8 < 5 ? 1 : 0))),
    stat('molora r=8, three tasks, padded', { method: 'molora', T: 13, n: 6, m: 4, r: 8 }, Array.from({ length: 13 }, (_, i) => (i < 10 ? 1 : 0))),
    stat('trex 3x5 top-2, mapper k=4, three tasks', { method: 'trex', T: 23, n: 9, m: 7, r1: 3, r2: 5, topk: 2, k: 4 }),
  ]) {
    test(name, async ({ page }) => {
      await page.goto('/e2e/harness.html');
      await page.waitForFunction(() => window.harness !== undefined || window.harnessError !== undefined);
      const t = { ...makeTensors(spec, name), mask };
      const d = adapterDims(spec);
      const task = Array.from({ length: spec.T }, (_, i) => (i * 7) % 3);
      const ref = adapterForward(spec, t);
      const want = routeStats(spec, ref, t, task, 4);
      const WrA = [...(t.Wr ? Array.from(t.Wr) : []), ...Array.from(t.A)];
      const sizes = { proj: spec.T * (d.E + d.rA), route: spec.T * 3 * d.E, hB: spec.T * d.rB, top1: spec.T, delta: spec.T * spec.m, stats: want.length, ...(d.mapper ? { sE: spec.T * d.E } : {}) };
      const got = await page.evaluate(
        (c) => window.harness!.run(c),
        {
          op: 'adapterForward',
          inputs: {
            x: { data: Array.from(t.x) }, W0: { data: Array.from(t.W0) }, WrA: { data: WrA }, B: { data: Array.from(t.B) },
            gates: { data: [t.wOmega?.[0] ?? 0, t.wBeta?.[0] ?? 0] }, ...(t.s ? { s: { data: Array.from(t.s) } } : {}), ...(t.M ? { M: { data: Array.from(t.M) } } : {}), task: { data: task, type: 'u32' as const },
            ...(mask ? { mask: { data: mask, type: 'u32' as const } } : {}),
          },
          outputs: { y: { length: spec.T * spec.m }, ...Object.fromEntries(Object.entries(sizes).map(([k, v]) => [k, { length: v }])) },
          args: { spec, groups: 4 },
        },
      );
      // Counts are exact; shares and means match to f32 rounding.
      for (let grp = 0; grp < 4; grp++) expect(got.stats[grp * (3 * d.E + 2) + 3 * d.E + 1]).toBe(want[grp * (3 * d.E + 2) + 3 * d.E + 1]);
      if (mask) expect(got.stats[3 * d.E + 1], 'real tokens only').toBe(mask.reduce((a, b) => a + b));
      expect(maxRelError(got.stats, want)).toBeLessThan(TOL);
    });
  }
});
