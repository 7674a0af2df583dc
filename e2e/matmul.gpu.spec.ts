// GPU parity: matmul forward and its backward products against the float64 reference, at odd
// shapes, every transpose layout, batched / shared operands, and a shape spanning many
// workgroups; the skinny-M kernels (matmul_skinny, matmul_skinny_scalar) at M = 1..16 with odd
// N and K, both B layouts, bias, accumulate and batches. Outputs are poisoned with NaN first, so
// an element the kernel never writes fails.
import { test, expect } from './fixtures.ts';
import { matmulBackwardBias, matmulBackwardInput, matmulBackwardWeight, matmulForward, matmulSizes, resolveMatmulShape, type MatmulShape } from '../src/reference/matmul.ts';
import { matmulTuning, planMatmul, skinnyKSplitFor, type MatmulVariant } from '../src/ops/matmul.ts';
import { f32, maxRelError, rand32, rng, seeded } from './util.ts';

/** f32 kernels against float64: relative error with an absolute floor of 1 (values are O(1)·√K). */
const TOL = 2e-5;


const shapes: Array<[string, MatmulShape]> = [
  ['1x1x1', { M: 1, N: 1, K: 1 }],
  ['37x53x19', { M: 37, N: 53, K: 19 }],
  ['37x53x19 transA', { M: 37, N: 53, K: 19, transA: true }],
  ['37x53x19 transB', { M: 37, N: 53, K: 19, transB: true }],
  ['37x53x19 transA transB', { M: 37, N: 53, K: 19, transA: true, transB: true }],
  ['batched 3 x 17x29x33', { batch: 3, M: 17, N: 29, K: 33 }],
  ['batched, shared weight (x · Wᵀ) 2 x 19x23x31', { batch: 2, M: 19, N: 23, K: 31, transB: true, strideB: 0 }],
  ['many workgroups 193x257x70', { M: 193, N: 257, K: 70 }],
  // Few rows: the forward and dA = dC·op(B)ᵀ run the skinny kernels ('auto').
  ['skinny 1x257x33 transB', { M: 1, N: 257, K: 33, transB: true }],
  ['skinny 3x36x64', { M: 3, N: 36, K: 64 }],
  ['skinny 7x5x257', { M: 7, N: 5, K: 257 }],
  ['skinny batched, shared weight (folds to 6 rows) 3 x 2x33x20 transB', { batch: 3, M: 2, N: 33, K: 20, transB: true, strideB: 0 }],
];

test.describe('matmul on the GPU vs the float64 reference', () => {
  for (const [name, shape] of shapes) {
    test(`forward + bias, backward input / weight / bias: ${name}`, async ({ gpu }) => {
      const rand = rng(name.length * 97 + 1);
      const s = resolveMatmulShape(shape);
      const sizes = matmulSizes(s);
      // Values are rounded to f32 first, so the reference sees exactly what the GPU sees.
      const A = rand32(sizes.A, rand);
      const B = rand32(sizes.B, rand);
      const bias = rand32(s.N, rand);
      const dC = rand32(sizes.C, rand);

      const C = new Float64Array(sizes.C);
      matmulForward(C, A, B, bias, shape);
      const { C: gotC } = await gpu.run({ op: 'matmulForward', inputs: { A: f32(A), B: f32(B), bias: f32(bias) }, outputs: { C: { length: sizes.C } }, args: { shape } });
      expect(maxRelError(gotC, C)).toBeLessThan(TOL);

      const dA = new Float64Array(sizes.A);
      matmulBackwardInput(dA, dC, B, shape);
      const { dA: gotDA } = await gpu.run({ op: 'matmulBackwardInput', inputs: { dC: f32(dC), B: f32(B) }, outputs: { dA: { length: sizes.A } }, args: { shape } });
      expect(maxRelError(gotDA, dA)).toBeLessThan(TOL);

      // Parameter gradients accumulate: start from a known gradient, not from poison.
      const initB = rand32(sizes.B, rand);
      const dBref = Float64Array.from(initB);
      matmulBackwardWeight(dBref, A, dC, shape);
      const { dB: gotDB } = await gpu.run({
        op: 'matmulBackwardWeight', inputs: { A: f32(A), dC: f32(dC) }, outputs: { dB: { length: sizes.B, init: Array.from(initB) } }, args: { shape, accumulate: true },
      });
      expect(maxRelError(gotDB, dBref)).toBeLessThan(TOL);

      if (s.strideC === s.M * s.N) {
        const initBias = rand32(s.N, rand);
        const dbias = Float64Array.from(initBias);
        matmulBackwardBias(dbias, dC, shape);
        const { dbias: gotDbias } = await gpu.run({ op: 'matmulBackwardBias', inputs: { dC: f32(dC) }, outputs: { dbias: { length: s.N, init: Array.from(initBias) } }, args: { shape } });
        expect(maxRelError(gotDbias, dbias)).toBeLessThan(TOL);
      }
      await gpu.expectNoGpuErrors();
    });
  }

  test('forward accumulate (+=) and the naive baseline agree with the reference', async ({ gpu }) => {
    const rand = rng(5);
    const shape = { M: 45, N: 21, K: 67 };
    const A = rand32(45 * 67, rand);
    const B = rand32(67 * 21, rand);
    const init = rand32(45 * 21, rand);
    const C = Float64Array.from(init);
    matmulForward(C, A, B, null, shape, true);
    const { C: got } = await gpu.run({
      op: 'matmulForward', inputs: { A: f32(A), B: f32(B) }, outputs: { C: { length: 45 * 21, init: Array.from(init) } }, args: { shape, accumulate: true },
    });
    expect(maxRelError(got, C)).toBeLessThan(TOL);
    const C2 = new Float64Array(45 * 21);
    matmulForward(C2, A, B, null, shape);
    const { C: naive } = await gpu.run({ op: 'matmulForward', inputs: { A: f32(A), B: f32(B) }, outputs: { C: { length: 45 * 21 } }, args: { shape, variant: 'naive' } });
    expect(maxRelError(naive, C2)).toBeLessThan(TOL);
    await gpu.expectNoGpuErrors();
  });

  test('a wrong answer is caught: the check is not vacuous', async ({ gpu }) => {
    // Feed the GPU a perturbed A: the comparison against the unperturbed reference must fail.
    const shape = { M: 5, N: 7, K: 3 };
    const rand = rng(11);
    const A = rand32(15, rand);
    const B = rand32(21, rand);
    const C = new Float64Array(35);
    matmulForward(C, A, B, null, shape);
    const wrongA = Array.from(A);
    wrongA[4] += 0.5;
    const { C: got } = await gpu.run({ op: 'matmulForward', inputs: { A: f32(wrongA), B: f32(B) }, outputs: { C: { length: 35 } }, args: { shape } });
    expect(maxRelError(got, C)).toBeGreaterThan(1e-3);
  });
});

// ---- The skinny-M kernels (M ≤ 16). Every case runs through 'auto' (which must pick a skinny
// kernel: the plan is checked) against the float64 reference, outputs poisoned with NaN.

interface SkinnyCase {
  name: string;
  shape: MatmulShape;
  bias?: boolean;
  accumulate?: boolean;
  /** The kernel file 'auto' must choose. */
  kernel: 'matmul/matmul_skinny' | 'matmul/matmul_skinny_scalar' | 'matmul/matmul_forward';
  /** Also run these forced variants against the reference. */
  also?: MatmulVariant[];
  /** K splits to run besides this adapter's default and a GPU's (16 with transB, 8 without). */
  kSplits?: number[];
}

/** Vec4 views apply when K % 4 == 0 and (TRANS_B or N % 4 == 0). */
const vec4Fits = (N: number, K: number, transB: boolean) => K % 4 === 0 && (transB || N % 4 === 0);

const NK: Array<[number, number]> = [[1, 1], [5, 33], [33, 257], [257, 5], [36, 64], [257, 256], [64, 260], [9, 12]];
const skinnyCases: SkinnyCase[] = [];
for (const M of [1, 2, 3, 7, 16]) {
  for (const [N, K] of NK) {
    for (const transB of [false, true]) {
      skinnyCases.push({
        name: `${M}x${N}x${K}${transB ? ' transB' : ''}`,
        shape: { M, N, K, transB },
        bias: (M + N + K) % 2 === 1,
        kernel: vec4Fits(N, K, transB) ? 'matmul/matmul_skinny' : 'matmul/matmul_skinny_scalar',
        // The old path at small M must stay right too (the decode benchmark's "before").
        also: M === 1 || M === 7 ? ['tiled'] : [],
        // Every power-of-two K split, on a scalar-load and a vec4 shape, both layouts.
        kSplits: M === 3 && (N === 33 || N === 257) && K > 200 ? [1, 2, 4, 32, 64] : [],
      });
    }
  }
}
skinnyCases.push(
  // Accumulate (+= into C: the residual adds of the attention and MLP down projections).
  { name: 'accumulate 1x576x64 transB + bias', shape: { M: 1, N: 576, K: 64, transB: true }, bias: true, accumulate: true, kernel: 'matmul/matmul_skinny' },
  { name: 'accumulate 5x40x24', shape: { M: 5, N: 40, K: 24 }, accumulate: true, kernel: 'matmul/matmul_skinny' },
  { name: 'accumulate 16x33x17 transB', shape: { M: 16, N: 33, K: 17, transB: true }, bias: true, accumulate: true, kernel: 'matmul/matmul_skinny_scalar' },
  { name: 'accumulate 3x7x5', shape: { M: 3, N: 7, K: 5 }, accumulate: true, kernel: 'matmul/matmul_skinny_scalar', also: ['skinny'] },
  // Batches: a shared B with contiguous A, C folds into one product of batch·M rows ...
  { name: 'batch 4, shared B (stride 0), folds to 8 rows: 2x33x20 transB', shape: { batch: 4, M: 2, N: 33, K: 20, transB: true, strideB: 0 }, bias: true, kernel: 'matmul/matmul_skinny' },
  { name: 'batch 3, shared B, odd K: 1x9x7', shape: { batch: 3, M: 1, N: 9, K: 7, strideB: 0 }, kernel: 'matmul/matmul_skinny_scalar' },
  // ... too many rows to fold (2 x 9 > 16): one batch entry per grid z.
  { name: 'batch 2, shared B, 9 rows each: 9x12x8 transB', shape: { batch: 2, M: 9, N: 12, K: 8, transB: true, strideB: 0 }, kernel: 'matmul/matmul_skinny' },
  // A shared (stride 0) across a batch of B.
  { name: 'batch 3, shared A: 2x16x8', shape: { batch: 3, M: 2, N: 16, K: 8, strideA: 0 }, bias: true, kernel: 'matmul/matmul_skinny' },
  // Padded strides (not contiguous): vec4 when they are multiples of 4, scalar otherwise.
  { name: 'batch 2, padded strides: 3x8x12', shape: { batch: 2, M: 3, N: 8, K: 12, strideA: 40, strideB: 100, strideC: 28 }, accumulate: true, kernel: 'matmul/matmul_skinny' },
  { name: 'batch 2, odd strides: 3x8x12 transB', shape: { batch: 2, M: 3, N: 8, K: 12, transB: true, strideA: 39, strideB: 101, strideC: 27 }, kernel: 'matmul/matmul_skinny_scalar' },
  // Not covered by the skinny kernels: the tiled one keeps these.
  { name: 'transA 3x9x12 stays tiled', shape: { M: 3, N: 9, K: 12, transA: true }, kernel: 'matmul/matmul_forward' },
  { name: '17 rows stay tiled: 17x9x12', shape: { M: 17, N: 9, K: 12, transB: true }, kernel: 'matmul/matmul_forward' },
);

test.describe('skinny-M matmul (M ≤ 16) vs the float64 reference', () => {
  test('the choice of kernel', () => {
    expect(planMatmul({ M: 1, N: 576, K: 576, transB: true }, false, false).file).toBe('matmul/matmul_skinny');
    expect(planMatmul({ M: 1, N: 576, K: 576, transB: true }, false, false).overrides.ROWS).toBe(1);
    expect(planMatmul({ M: 3, N: 576, K: 576 }, true, true, 'auto', 8).overrides).toEqual({ TRANS_B: false, HAS_BIAS: true, ACCUMULATE: true, ROWS: 4, KSPLIT: 8 });
    expect(planMatmul({ M: 9, N: 1536, K: 576, transB: true }, false, false).overrides.ROWS).toBe(16);
    // Columns per workgroup: 64 / KSPLIT groups of 4 columns.
    expect(planMatmul({ M: 16, N: 1536, K: 576, transB: true }, false, false, 'auto', 16).workgroups).toEqual([1536 / 16, 1, 1]);
    expect(planMatmul({ M: 16, N: 1536, K: 576 }, false, false, 'auto', 8).workgroups).toEqual([1536 / 32, 1, 1]);
    expect(planMatmul({ M: 16, N: 1536, K: 576, transB: true }, false, false, 'auto', 1).workgroups).toEqual([1536 / 256, 1, 1]);
    expect(planMatmul({ M: 16, N: 1536, K: 576 }, false, false, 'auto', 1).workgroups).toEqual([1536 / 256, 1, 1]);
    expect(() => planMatmul({ M: 1, N: 5, K: 5 }, false, false, 'auto', 3)).toThrow(/power of two/);
    const gpu = { vendor: 'nvidia', architecture: 'hopper', device: '', description: '', isFallbackAdapter: false };
    const swiftshader = { vendor: 'google', architecture: 'swiftshader', device: '', description: '', isFallbackAdapter: true };
    expect([skinnyKSplitFor(gpu, true), skinnyKSplitFor(gpu, false), skinnyKSplitFor(swiftshader, true)]).toEqual([16, 8, 1]);
    expect(planMatmul({ M: 17, N: 576, K: 576, transB: true }, false, false).file).toBe('matmul/matmul_forward');
    expect(planMatmul({ M: 1, N: 576, K: 576, transB: true }, false, false, 'tiled').file).toBe('matmul/matmul_forward');
    expect(() => planMatmul({ M: 1, N: 5, K: 5, transA: true }, false, false, 'skinny')).toThrow(/transposed/);
    const folded = planMatmul({ batch: 4, M: 2, N: 33, K: 20, transB: true, strideB: 0 }, false, false);
    expect([folded.shape.batch, folded.shape.M, folded.workgroups[2]]).toEqual([1, 8, 1]);
    // The switch the decode benchmark uses to measure the old path.
    const saved = matmulTuning.skinnyMaxM;
    try {
      matmulTuning.skinnyMaxM = 0;
      expect(planMatmul({ M: 1, N: 576, K: 576, transB: true }, false, false).file).toBe('matmul/matmul_forward');
      matmulTuning.skinnyMaxM = 4;
      expect(planMatmul({ M: 5, N: 576, K: 576, transB: true }, false, false).file).toBe('matmul/matmul_forward');
      expect(planMatmul({ M: 4, N: 576, K: 576, transB: true }, false, false).file).toBe('matmul/matmul_skinny');
    } finally {
      matmulTuning.skinnyMaxM = saved;
    }
    for (const c of skinnyCases) expect(planMatmul(c.shape, !!c.bias, !!c.accumulate).file, c.name).toBe(c.kernel);
  });

  // A few GPU calls per test keep each test well inside the timeout on SwiftShader.
  const chunks: SkinnyCase[][] = [];
  for (let i = 0; i < skinnyCases.length; i += 8) chunks.push(skinnyCases.slice(i, i + 8));
  for (const chunk of chunks) {
    test(`forward: ${chunk.map((c) => c.name).join('; ')}`, async ({ gpu }) => {
      for (const c of chunk) {
        const rand = seeded(c.name);
        const s = resolveMatmulShape(c.shape);
        const sizes = matmulSizes(s);
        const A = rand32(sizes.A, rand);
        const B = rand32(sizes.B, rand);
        const bias = c.bias ? rand32(s.N, rand) : null;
        const init = c.accumulate ? rand32(sizes.C, rand) : null;
        const want = init ? Float64Array.from(init) : new Float64Array(sizes.C);
        matmulForward(want, A, B, bias, c.shape, !!c.accumulate);
        // This adapter's K split (1 on SwiftShader), a GPU's (with the workgroup-memory reduction), more.
        const gpuSplit = skinnyKSplitFor({ vendor: '', architecture: '', device: '', description: '', isFallbackAdapter: false }, s.transB);
        const runs: Array<{ variant: MatmulVariant; kSplit: number }> = [
          { variant: 'auto', kSplit: 0 },
          ...[...new Set([gpuSplit, ...(c.kSplits ?? [])])].map((kSplit) => ({ variant: 'auto' as const, kSplit })),
          ...(c.also ?? []).map((variant) => ({ variant, kSplit: 0 })),
        ];
        for (const { variant, kSplit } of runs) {
          const { C: got } = await gpu.run({
            op: 'matmulForward',
            inputs: { A: f32(A), B: f32(B), ...(bias ? { bias: f32(bias) } : {}) },
            outputs: { C: { length: sizes.C, ...(init ? { init: Array.from(init) } : {}) } },
            args: { shape: c.shape, accumulate: !!c.accumulate, variant, tuning: { skinnyKSplit: kSplit } },
          });
          // Padded strides leave gaps in C: compare the written elements, and the gaps must keep
          // what they held (the poison, or the accumulate's initial values).
          const written = new Set<number>();
          for (let b = 0; b < s.batch; b++) for (let i = 0; i < s.M * s.N; i++) written.add(b * s.strideC + i);
          const idx = [...written];
          const what = `${c.name} (${variant}, K split ${kSplit || 'default'})`;
          expect(maxRelError(idx.map((i) => got[i]), idx.map((i) => want[i])), what).toBeLessThan(TOL);
          const gaps = got.map((v, i) => (written.has(i) ? 0 : init ? v - init[i] : Number.isNaN(v) ? 0 : 1));
          expect(Math.max(0, ...gaps.map(Math.abs)), `${what}: elements between batch entries`).toBe(0);
        }
      }
      await gpu.expectNoGpuErrors();
    });
  }
});
