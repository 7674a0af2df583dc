// The float64 matmul reference: a hand-worked example, and every backward product against
// central finite differences over all transpose / broadcast layouts.
import { describe, expect, it } from 'vitest';
import { matmulBackwardBias, matmulBackwardInput, matmulBackwardWeight, matmulForward, matmulSizes, resolveMatmulShape, type MatmulShape } from '../src/reference/matmul.ts';
import { dot, maxRelError, numericGrad, randn, rng } from '../src/reference/gradcheck.ts';

describe('matmulForward reference', () => {
  it('computes a worked 2x3 · 3x2 example with bias', () => {
    const A = Float64Array.from([1, 2, 3, 4, 5, 6]);
    const B = Float64Array.from([7, 8, 9, 10, 11, 12]);
    const C = new Float64Array(4);
    matmulForward(C, A, B, Float64Array.from([0.5, -1]), { M: 2, N: 2, K: 3 });
    expect(Array.from(C)).toEqual([58.5, 63, 139.5, 153]);
  });

  it('treats transA / transB as transposed storage', () => {
    const At = Float64Array.from([1, 4, 2, 5, 3, 6]); // (K=3, M=2)
    const Bt = Float64Array.from([7, 9, 11, 8, 10, 12]); // (N=2, K=3)
    const C = new Float64Array(4);
    matmulForward(C, At, Bt, null, { M: 2, N: 2, K: 3, transA: true, transB: true });
    expect(Array.from(C)).toEqual([58, 64, 139, 154]);
  });

  it('accumulates into C when asked', () => {
    const C = Float64Array.from([1]);
    matmulForward(C, Float64Array.from([2]), Float64Array.from([3]), null, { M: 1, N: 1, K: 1 }, true);
    expect(C[0]).toBe(7);
  });

  it('rejects non-positive dimensions with the name of the dimension', () => {
    expect(() => matmulForward(new Float64Array(1), new Float64Array(1), new Float64Array(1), null, { M: 0, N: 1, K: 1 })).toThrow(/M must be a positive integer/);
  });
});

const layouts: Array<[string, MatmulShape]> = [
  ['plain', { M: 3, N: 4, K: 5 }],
  ['transA', { M: 4, N: 3, K: 2, transA: true }],
  ['transB', { M: 2, N: 5, K: 3, transB: true }],
  ['transA+transB', { M: 3, N: 2, K: 4, transA: true, transB: true }],
  ['batched', { batch: 3, M: 2, N: 3, K: 4 }],
  ['batched, B shared (x · Wᵀ)', { batch: 2, M: 3, N: 2, K: 4, transB: true, strideB: 0 }],
  ['batched, A shared', { batch: 2, M: 2, N: 3, K: 3, strideA: 0 }],
];

describe.each(layouts)('matmul backward reference vs finite differences: %s', (_name, shape) => {
  it('dA, dB and dbias match central differences', () => {
    const rand = rng(7);
    const s = resolveMatmulShape(shape);
    const sizes = matmulSizes(s);
    const A = randn(sizes.A, rand);
    const B = randn(sizes.B, rand);
    const bias = randn(s.N, rand);
    const G = randn(sizes.C, rand);
    const C = new Float64Array(sizes.C);
    const loss = () => {
      matmulForward(C, A, B, bias, shape);
      return dot(C, G);
    };
    const dA = new Float64Array(sizes.A);
    const dB = new Float64Array(sizes.B);
    const dbias = new Float64Array(s.N);
    matmulBackwardInput(dA, G, B, shape);
    matmulBackwardWeight(dB, A, G, shape);
    matmulBackwardBias(dbias, G, shape);
    expect(maxRelError(dA, numericGrad(A, loss))).toBeLessThan(1e-8);
    expect(maxRelError(dB, numericGrad(B, loss))).toBeLessThan(1e-8);
    expect(maxRelError(dbias, numericGrad(bias, loss))).toBeLessThan(1e-8);
  });
});

describe('backward accumulation', () => {
  it('matmulBackwardWeight adds to what the gradient held (parameter gradients accumulate)', () => {
    const shape = { M: 2, N: 2, K: 2 };
    const A = Float64Array.from([1, 0, 0, 1]);
    const G = Float64Array.from([1, 2, 3, 4]);
    const dB = Float64Array.from([10, 10, 10, 10]);
    matmulBackwardWeight(dB, A, G, shape);
    expect(Array.from(dB)).toEqual([11, 12, 13, 14]);
    matmulBackwardWeight(dB, A, G, shape, false);
    expect(Array.from(dB)).toEqual([1, 2, 3, 4]);
  });
});
