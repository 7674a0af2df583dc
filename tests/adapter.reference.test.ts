// The adapted-layer reference (METHOD.md) against central finite differences, for every method
// and routing mode, on all parameters and on x (s is data), with and without padding tokens;
// padding tokens' independence from the regularisers; the intuition mapper (k ≠ E clusters);
// parameter counts; initial values.
import { describe, expect, it } from 'vitest';
import { adapterBackward, adapterForward, adapterInit, adapterMapperBackward, adapterParamCount, routeStats, topkIndices, type AdapterSpec, type AdapterTensors } from '../src/reference/adapter.ts';
import { dot, maxRelError, numericGrad, randn, rng } from '../src/reference/gradcheck.ts';

function tensors(spec: AdapterSpec, seed: number): AdapterTensors & { dy: Float64Array } {
  const r = rng(seed);
  const { T, n, m } = spec;
  const rA = spec.method === 'trex' ? spec.r1! : spec.method === 'mor1e' ? spec.E! : spec.r!;
  const rB = spec.method === 'trex' ? spec.r2! : spec.method === 'mor1e' ? spec.E! : spec.r!;
  const E = spec.method === 'trex' ? spec.r1! * spec.r2! : spec.method === 'mor1e' ? spec.E! : spec.method === 'lora' ? 0 : 8;
  const gated = spec.method === 'trex' || spec.method === 'mor1e';
  // Cluster count: k ≠ E gives s k values per token and a mapper M (E x k), drawn last.
  const k = spec.k ?? E;
  return {
    x: randn(T * n, r),
    W0: randn(m * n, r),
    bias: randn(m, r),
    A: randn(rA * n, r),
    B: randn(m * rB, r),
    Wr: E ? randn(E * n, r, 2) : null,
    // Gates away from saturation so that sigmoid(100 w) has a usable slope.
    wOmega: gated ? Float64Array.from([0.004]) : null,
    wBeta: gated ? Float64Array.from([-0.003]) : null,
    s: gated ? randn(T * k, r) : null,
    dy: randn(T * m, r),
    M: gated && k !== E ? randn(E * k, r) : null,
  };
}

function loss(spec: AdapterSpec, t: AdapterTensors, dy: Float64Array): number {
  const f = adapterForward(spec, t);
  return dot(f.y, dy) + (spec.lambdaH ?? 0) * f.entropy + (spec.lambdaLB ?? 0) * f.balance;
}

const specs: Array<[string, AdapterSpec]> = [
  ['trex dense 2x3', { method: 'trex', T: 4, n: 5, m: 3, r1: 2, r2: 3 }],
  ['trex top-2 of 6', { method: 'trex', T: 5, n: 4, m: 3, r1: 2, r2: 3, topk: 2 }],
  ['trex top-1 with both regularisers', { method: 'trex', T: 4, n: 5, m: 2, r1: 3, r2: 2, topk: 1, lambdaH: 0.3, lambdaLB: 0.2 }],
  ['trex dense, negative entropy weight', { method: 'trex', T: 3, n: 4, m: 3, r1: 2, r2: 2, lambdaH: -0.5 }],
  ['trex router only (no intuition)', { method: 'trex', T: 3, n: 4, m: 3, r1: 2, r2: 3, useIntuition: false, topk: 3 }],
  ['trex intuition only (no router)', { method: 'trex', T: 3, n: 4, m: 3, r1: 2, r2: 3, useRouter: false }],
  ['mor1e dense E=5', { method: 'mor1e', T: 4, n: 5, m: 3, E: 5, lambdaLB: 0.4 }],
  ['mor1e top-3 of 5', { method: 'mor1e', T: 4, n: 3, m: 4, E: 5, topk: 3, lambdaH: 0.2 }],
  ['lora r=3 alpha=6', { method: 'lora', T: 3, n: 4, m: 5, r: 3, alpha: 6 }],
  ['molora r=16', { method: 'molora', T: 3, n: 4, m: 3, r: 16 }],
  ['sira r=8', { method: 'sira', T: 4, n: 3, m: 3, r: 8 }],
  // The intuition mapper: k clusters ≠ E, routing reads s_E = M s_k.
  ['trex dense 2x3, mapper k=4 < E', { method: 'trex', T: 4, n: 5, m: 3, r1: 2, r2: 3, k: 4 }],
  ['trex top-2 of 6, mapper k=9 > E', { method: 'trex', T: 5, n: 4, m: 3, r1: 2, r2: 3, topk: 2, k: 9 }],
  ['trex top-1, mapper k=2, both regularisers', { method: 'trex', T: 4, n: 5, m: 2, r1: 3, r2: 2, topk: 1, k: 2, lambdaH: 0.3, lambdaLB: 0.2 }],
  ['trex intuition only (no router), mapper k=5', { method: 'trex', T: 3, n: 4, m: 3, r1: 2, r2: 3, useRouter: false, k: 5 }],
  ['mor1e dense E=5, mapper k=3 < E', { method: 'mor1e', T: 4, n: 5, m: 3, E: 5, k: 3, lambdaLB: 0.4 }],
  ['mor1e top-3 of 5, mapper k=7 > E', { method: 'mor1e', T: 4, n: 3, m: 4, E: 5, topk: 3, k: 7, lambdaH: 0.2 }],
];

// Padding: two sequences of 4 tokens in one layer (rows 0-3 and 4-7), the second (or both)
// ending in padding; both regularisers on.
const padded: Array<[string, AdapterSpec, number[]]> = [
  ['trex top-2, both regularisers, padded sequences', { method: 'trex', T: 8, n: 4, m: 3, r1: 2, r2: 3, topk: 2, lambdaH: 0.3, lambdaLB: 0.4 }, [1, 1, 1, 0, 1, 1, 0, 0]],
  ['trex dense, both regularisers, padded sequence', { method: 'trex', T: 8, n: 4, m: 3, r1: 2, r2: 2, lambdaH: -0.4, lambdaLB: 0.5 }, [1, 1, 1, 1, 1, 0, 0, 0]],
  ['mor1e dense E=5, both regularisers, padded sequences', { method: 'mor1e', T: 8, n: 5, m: 3, E: 5, lambdaH: 0.25, lambdaLB: 0.6 }, [1, 1, 0, 0, 1, 1, 1, 0]],
  ['mor1e top-3 of 5, both regularisers, padded sequence', { method: 'mor1e', T: 8, n: 3, m: 4, E: 5, topk: 3, lambdaH: 0.2, lambdaLB: 0.3 }, [1, 1, 1, 1, 1, 1, 0, 0]],
  ['trex top-2, mapper k=4, both regularisers, padded sequences', { method: 'trex', T: 8, n: 4, m: 3, r1: 2, r2: 3, topk: 2, k: 4, lambdaH: 0.3, lambdaLB: 0.4 }, [1, 1, 1, 0, 1, 1, 0, 0]],
];

function gradcheck(spec: AdapterSpec, t: AdapterTensors & { dy: Float64Array }) {
  const fw = adapterForward(spec, t);
  // Stay away from top-k ties, where the selection (and so the loss) jumps.
  if (spec.topk) {
    for (const rt of fw.routes) {
      const u = Array.from(rt.g);
      expect(u.filter((v) => v !== 0).length).toBe(spec.topk);
    }
  }
  const g = adapterBackward(spec, t, fw, t.dy);
  const L = () => loss(spec, t, t.dy);
  const TOL = 2e-6;
  expect(maxRelError(g.dx, numericGrad(t.x as Float64Array, L)), 'dx').toBeLessThan(TOL);
  expect(maxRelError(g.dA, numericGrad(t.A as Float64Array, L)), 'dA').toBeLessThan(TOL);
  expect(maxRelError(g.dB, numericGrad(t.B as Float64Array, L)), 'dB').toBeLessThan(TOL);
  if (t.Wr) expect(maxRelError(g.dWr!, numericGrad(t.Wr as Float64Array, L)), 'dWr').toBeLessThan(TOL);
  if (t.M) {
    const num = numericGrad(t.M as Float64Array, L);
    expect(Math.max(...Array.from(num).map(Math.abs)), 'the mapper moves the loss').toBeGreaterThan(1e-3);
    expect(maxRelError(g.dM!, num), 'dM').toBeLessThan(TOL);
  } else {
    expect(g.dM, 'no mapper, no dM').toBeNull();
  }
  if (t.wOmega) {
    expect(maxRelError([g.dwOmega], numericGrad(t.wOmega as Float64Array, L, 1e-7)), 'dwOmega').toBeLessThan(1e-5);
    expect(maxRelError([g.dwBeta], numericGrad(t.wBeta as Float64Array, L, 1e-7)), 'dwBeta').toBeLessThan(1e-5);
  }
}

describe('adapter layer reference vs finite differences', () => {
  for (const [name, spec] of specs) it(name, () => gradcheck(spec, tensors(spec, name.length * 13 + 1)));
  for (const [name, spec, mask] of padded) it(name, () => gradcheck(spec, { ...tensors(spec, name.length * 13 + 1), mask }));
});

describe('padding tokens and the router regularisers', () => {
  for (const [name, spec, mask] of padded) {
    it(`${name}: padding tokens change neither the regularisers nor their gradients`, () => {
      const t = { ...tensors(spec, name.length * 7 + 3), mask };
      const real = mask.reduce((a, b) => a + b);
      // dy = 0: every gradient comes from the regularisers.
      const dy = new Float64Array(spec.T * spec.m);
      const fw = adapterForward(spec, t);
      expect(fw.count).toBe(real);
      const g = adapterBackward(spec, t, fw, dy);
      expect(Math.max(...Array.from(g.dWr!).map(Math.abs)), 'the regularisers do move W_r').toBeGreaterThan(1e-3);
      // The regulariser values are those of the real tokens alone.
      const keep = mask.flatMap((v, i) => (v ? [i] : []));
      const rows = (a: ArrayLike<number>, w: number) => Float64Array.from(keep.flatMap((i) => Array.from({ length: w }, (_, c) => a[i * w + c])));
      const E = fw.routes[0].p.length;
      const alone = adapterForward({ ...spec, T: real }, { ...t, x: rows(t.x, spec.n), s: rows(t.s!, spec.k ?? E), mask: null });
      expect(Math.abs(fw.entropy - alone.entropy)).toBeLessThan(1e-12);
      expect(Math.abs(fw.balance - alone.balance)).toBeLessThan(1e-12);
      // Move the x of every padding token.
      const x2 = Float64Array.from(t.x);
      const r = rng(11);
      for (let i = 0; i < spec.T; i++) if (!mask[i]) for (let c = 0; c < spec.n; c++) x2[i * spec.n + c] += 2 * r() - 1;
      const t2 = { ...t, x: x2 };
      const fw2 = adapterForward(spec, t2);
      expect(fw2.entropy).toBe(fw.entropy);
      expect(fw2.balance).toBe(fw.balance);
      const g2 = adapterBackward(spec, t2, fw2, dy);
      for (const k of ['dA', 'dB', 'dWr', 'dM'] as const) if (g[k]) expect(Array.from(g2[k]!), k).toEqual(Array.from(g[k]!));
      expect(g2.dwOmega).toBe(g.dwOmega);
      expect(g2.dwBeta).toBe(g.dwBeta);
      for (let i = 0; i < spec.T; i++)
        for (let c = 0; c < spec.n; c++) {
          if (mask[i]) expect(g2.dx[i * spec.n + c]).toBe(g.dx[i * spec.n + c]);
          else expect(g2.dx[i * spec.n + c], `dx of padding token ${i}`).toBe(0);
        }
      // Without the mask the same move does change them (the check above has teeth).
      const unmasked = adapterForward(spec, { ...t, mask: null });
      const unmasked2 = adapterForward(spec, { ...t2, mask: null });
      expect(Math.abs(unmasked2.entropy - unmasked.entropy) + Math.abs(unmasked2.balance - unmasked.balance)).toBeGreaterThan(1e-4);
    });
  }

  it('a mask of all ones is bit-identical to no mask', () => {
    for (const [name, spec] of [...specs, ...padded.map(([n, s]) => [n, s] as const)]) {
      const t = tensors(spec, name.length * 5 + 2);
      const ones = { ...t, mask: new Array<number>(spec.T).fill(1) };
      const a = adapterForward(spec, t), b = adapterForward(spec, ones);
      expect(Array.from(b.y), name).toEqual(Array.from(a.y));
      expect([b.entropy, b.balance, ...b.f], name).toEqual([a.entropy, a.balance, ...a.f]);
      const ga = adapterBackward(spec, t, a, t.dy), gb = adapterBackward(spec, ones, b, t.dy);
      for (const k of ['dx', 'dA', 'dB', 'dWr', 'dM'] as const) expect(gb[k] && Array.from(gb[k]), `${name}: ${k}`).toEqual(ga[k] && Array.from(ga[k]));
      expect([gb.dwOmega, gb.dwBeta], name).toEqual([ga.dwOmega, ga.dwBeta]);
      if (a.routes.length) expect(Array.from(routeStats(spec, b, ones, null, 1)), name).toEqual(Array.from(routeStats(spec, a, t, null, 1)));
    }
  });

  it('router statistics count real tokens only, per task, and agree with the forward', () => {
    const [, spec, mask] = padded[0];
    const t = { ...tensors(spec, 5), mask };
    const fw = adapterForward(spec, t);
    const task = [0, 0, 0, 0, 1, 1, 1, 1];
    const st = routeStats(spec, fw, t, task, 3);
    const E = 6, stride = 3 * E + 2;
    expect([0, 1, 2].map((g) => st[g * stride + 3 * E + 1])).toEqual([5, 3, 2]);
    expect(Math.abs(st[3 * E] - fw.entropy)).toBeLessThan(1e-12);
    expect(Math.abs(st[3 * stride] - fw.balance)).toBeLessThan(1e-12);
    expect(maxRelError(st.subarray(0, E), fw.f)).toBeLessThan(1e-12);
    expect(() => routeStats(spec, fw, { ...t, mask: [1, 1] }, task, 3)).toThrow(/mask has 2 values/);
  });
});

describe('the intuition mapper (k clusters ≠ E)', () => {
  const mapped = specs.filter(([, sp]) => sp.k !== undefined);

  it('k = E is no mapper: bit-identical to leaving k out', () => {
    for (const [name, spec] of specs.filter(([, sp]) => sp.k === undefined && (sp.method === 'trex' || sp.method === 'mor1e'))) {
      const E = spec.method === 'trex' ? spec.r1! * spec.r2! : spec.E!;
      const t = tensors(spec, name.length * 5 + 2);
      const withK = { ...spec, k: E };
      const a = adapterForward(spec, t), b = adapterForward(withK, t);
      expect(Array.from(b.y), name).toEqual(Array.from(a.y));
      expect([b.entropy, b.balance], name).toEqual([a.entropy, a.balance]);
      const ga = adapterBackward(spec, t, a, t.dy), gb = adapterBackward(withK, t, b, t.dy);
      for (const k of ['dx', 'dA', 'dB', 'dWr'] as const) expect(Array.from(gb[k]!), `${name}: ${k}`).toEqual(Array.from(ga[k]!));
      expect([gb.dwOmega, gb.dwBeta, gb.dM], name).toEqual([ga.dwOmega, ga.dwBeta, null]);
      expect(adapterParamCount(withK)).toBe(adapterParamCount(spec));
    }
  });

  it('routing with a mapper is routing on the mapped scores s_E = M s_k', () => {
    for (const [name, spec] of mapped) {
      const t = tensors(spec, name.length * 3 + 1);
      const E = spec.method === 'trex' ? spec.r1! * spec.r2! : spec.E!, k = spec.k!;
      const sE = new Float64Array(spec.T * E);
      for (let i = 0; i < spec.T; i++) for (let e = 0; e < E; e++) for (let c = 0; c < k; c++) sE[i * E + e] += t.M![e * k + c] * t.s![i * k + c];
      const { k: _k, ...plain } = spec;
      const a = adapterForward(spec, t), b = adapterForward(plain, { ...t, s: sE, M: null });
      expect(maxRelError(a.y, b.y), name).toBeLessThan(1e-12);
      expect(maxRelError([a.entropy, a.balance], [b.entropy, b.balance]), name).toBeLessThan(1e-12);
      const ga = adapterBackward(spec, t, a, t.dy), gb = adapterBackward(plain, { ...t, s: sE, M: null }, b, t.dy);
      for (const f of ['dx', 'dA', 'dB', 'dWr'] as const) expect(maxRelError(ga[f]!, gb[f]!), `${name}: ${f}`).toBeLessThan(1e-12);
      expect(maxRelError([ga.dwOmega, ga.dwBeta], [gb.dwOmega, gb.dwBeta]), name).toBeLessThan(1e-12);
      expect(adapterParamCount(spec) - adapterParamCount(plain)).toBe(E * k);
    }
  });

  it("adapterMapperBackward (the kernel's reference) and dM = ds_Eᵀ · s_k give adapterBackward's dM", () => {
    for (const [name, spec] of mapped.filter(([, sp]) => sp.useRouter !== false)) {
      const t = tensors(spec, name.length * 11 + 4);
      const E = spec.method === 'trex' ? spec.r1! * spec.r2! : spec.E!, k = spec.k!;
      const rA = spec.method === 'trex' ? spec.r1! : E, rB = spec.method === 'trex' ? spec.r2! : E;
      const fw = adapterForward(spec, t);
      const g = adapterBackward(spec, t, fw, t.dy);
      // The GPU layouts: proj = z | a (z unused here), route = p | pk | g, dh = Bᵀ (beta dy).
      const proj = new Float64Array(spec.T * (E + rA)), route = new Float64Array(spec.T * 3 * E), dh = new Float64Array(spec.T * rB);
      for (let i = 0; i < spec.T; i++) {
        for (let r = 0; r < rA; r++) proj[i * (E + rA) + E + r] = fw.a[i * rA + r];
        for (let e = 0; e < E; e++) {
          route[i * 3 * E + e] = fw.routes[i].p[e];
          route[i * 3 * E + E + e] = fw.routes[i].kept.includes(e) ? fw.routes[i].pk[e] : 0;
          route[i * 3 * E + 2 * E + e] = fw.routes[i].g[e];
        }
        for (let j = 0; j < rB; j++) for (let o = 0; o < spec.m; o++) dh[i * rB + j] += t.B[o * rB + j] * fw.beta * t.dy[i * spec.m + o];
      }
      const dsE = new Float64Array(spec.T * E).fill(NaN);
      adapterMapperBackward(dsE, dh, proj, route, [t.wOmega![0], t.wBeta![0]], spec);
      const dM = new Float64Array(E * k);
      for (let i = 0; i < spec.T; i++) for (let e = 0; e < E; e++) for (let c = 0; c < k; c++) dM[e * k + c] += dsE[i * E + e] * t.s![i * k + c];
      expect(maxRelError(dM, g.dM!), name).toBeLessThan(1e-12);
      // Top-k: the skipped experts get no score gradient.
      if (spec.topk) expect(Array.from(dsE).filter((v) => v === 0).length, name).toBe(spec.T * (E - spec.topk));
    }
  });

  it('init: A as without a mapper, then M ~ U(−1/√k, 1/√k) like nn.Linear(k, E, bias=False)', () => {
    const spec: AdapterSpec = { method: 'trex', T: 1, n: 16, m: 5, r1: 2, r2: 4, k: 3 };
    const { k: _k, ...plain } = spec;
    const a = adapterInit(spec, rng(4)), b = adapterInit(plain, rng(4));
    expect(Array.from(a.A)).toEqual(Array.from(b.A));
    expect(b.M).toBeNull();
    const r = rng(4);
    for (let i = 0; i < a.A.length; i++) r();
    const want = Array.from({ length: 8 * 3 }, () => (r() * 2 - 1) * (1 / Math.sqrt(3)));
    expect(Array.from(a.M!)).toEqual(want);
    expect(Math.max(...want.map(Math.abs))).toBeLessThanOrEqual(1 / Math.sqrt(3));
    expect(adapterInit({ ...spec, k: 8 }, rng(4)).M).toBeNull();
  });

  it('a mapper needs M, and s of k values per token', () => {
    const spec: AdapterSpec = { method: 'mor1e', T: 2, n: 3, m: 2, E: 4, k: 3 };
    const t = tensors(spec, 1);
    expect(() => adapterForward(spec, { ...t, M: null })).toThrow(/k = 3 clusters ≠ E = 4 needs the mapper M \(4 x 3\)/);
    expect(() => adapterForward(spec, { ...t, s: t.s!.subarray(0, 4) })).toThrow(/s has 4 values, T x k = 2 x 3 needs 6/);
    expect(() => adapterForward({ ...spec, k: 0 }, t)).toThrow(/k \(the intuition cluster count\) must be a positive integer/);
  });
});

describe('adapter definitions', () => {
  it('trainable parameters follow METHOD.md', () => {
    const n = 576, m = 1536;
    expect(adapterParamCount({ method: 'trex', T: 1, n, m, r1: 4, r2: 8 })).toBe(4 * n + 8 * m + 32 * n + 2);
    expect(adapterParamCount({ method: 'mor1e', T: 1, n, m, E: 32 })).toBe(32 * n + 32 * m + 32 * n + 2);
    expect(adapterParamCount({ method: 'lora', T: 1, n, m, r: 32 })).toBe(32 * n + 32 * m);
    expect(adapterParamCount({ method: 'molora', T: 1, n, m, r: 32 })).toBe(32 * n + 32 * m + 8 * n);
    expect(() => adapterParamCount({ method: 'molora', T: 1, n, m, r: 12 })).toThrow(/multiple of 8/);
  });

  it('initial values: B = 0 makes the adapter an identity on W0; gates start at 0.5; A is kaiming-uniform', () => {
    const spec: AdapterSpec = { method: 'trex', T: 3, n: 16, m: 5, r1: 4, r2: 8 };
    const init = adapterInit(spec, rng(4));
    expect(Math.max(...Array.from(init.A).map(Math.abs))).toBeLessThanOrEqual(1 / 4);
    const t = { ...tensors(spec, 9), ...init };
    const fw = adapterForward(spec, t);
    expect(fw.w).toBe(0.5);
    expect(fw.beta).toBe(0.5);
    const base = new Float64Array(3 * 5);
    for (let i = 0; i < 3; i++) for (let o = 0; o < 5; o++) {
      let v = t.bias![o];
      for (let c = 0; c < 16; c++) v += t.W0[o * 16 + c] * t.x[i * 16 + c];
      base[i * 5 + o] = v;
    }
    expect(maxRelError(fw.y, base)).toBeLessThan(1e-12);
    // With W_r = 0 the router is uniform: g = 32·0.5/E + 4·0.5·s.
    expect(fw.routes[0].g[3]).toBeCloseTo(16 / 32 + 2 * t.s![3], 12);
    // The first step moves only B (dA, dW_r and the gate gradients are 0 while B = 0).
    const g = adapterBackward(spec, t, fw, (t as unknown as { dy: Float64Array }).dy);
    expect(Math.max(...Array.from(g.dB).map(Math.abs))).toBeGreaterThan(0);
    expect(Math.max(...Array.from(g.dA).map(Math.abs), ...Array.from(g.dWr!).map(Math.abs), Math.abs(g.dwOmega), Math.abs(g.dwBeta))).toBe(0);
  });

  it('top-k picks the k largest with ties to the lower index; k = E is the dense rule', () => {
    expect(topkIndices([1, 3, 3, 2], 2)).toEqual([1, 2]);
    expect(topkIndices([5, 5, 5], 1)).toEqual([0]);
    const spec: AdapterSpec = { method: 'mor1e', T: 2, n: 3, m: 2, E: 4 };
    const t = tensors(spec, 3);
    const dense = adapterForward(spec, t);
    const kE = adapterForward({ ...spec, topk: 4 }, t);
    expect(maxRelError(kE.y, dense.y)).toBe(0);
  });
});
