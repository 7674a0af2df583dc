// GPU parity: matmul forward and its backward products against the float64 reference, at odd
// shapes, every transpose layout, batched / shared operands, and a shape spanning many
// workgroups. Outputs are poisoned with NaN first, so an element the kernel never writes fails.
import { test, expect } from './fixtures.ts';
import { matmulBackwardBias, matmulBackwardInput, matmulBackwardWeight, matmulForward, matmulSizes, resolveMatmulShape, type MatmulShape } from '../src/reference/matmul.ts';
import { f32, maxRelError, rand32, rng } from './util.ts';

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
