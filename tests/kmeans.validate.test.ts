// The GPU k-means driver's input checks (src/intuition/kmeans.ts checkKmeans), including the
// device limits, which a browser test cannot reach without gigabyte arrays.
import { describe, expect, it } from 'vitest';
import { checkKmeans } from '../src/intuition/kmeans.ts';

const LIMITS = { maxStorageBufferBindingSize: 1 << 30, maxBufferSize: 1 << 30, maxComputeWorkgroupsPerDimension: 65535 };
const pts = (n: number) => new Float32Array(n);

describe('checkKmeans', () => {
  it('accepts a valid request', () => {
    expect(() => checkKmeans(pts(12), 4, 3, 2, { seed: 1, restarts: 2, maxIter: 0 }, LIMITS)).not.toThrow();
  });

  it('names the bad argument', () => {
    expect(() => checkKmeans(pts(4), 2, 2, 3, { seed: 1 })).toThrow('kmeans: k = 3 clusters need at least k points, got n = 2');
    expect(() => checkKmeans(pts(3), 2, 2, 1, { seed: 1 })).toThrow('points has 3 values, expected n·d = 2·2 = 4');
    expect(() => checkKmeans(Float32Array.from([0, Infinity]), 1, 2, 1, { seed: 1 })).toThrow('points[1] (point 0, dimension 1) is Infinity, not finite');
    expect(() => checkKmeans(Float32Array.from([0, 1e20]), 1, 2, 1, { seed: 1 })).toThrow('points[1] = 100000002004087730000 is too large');
    expect(() => checkKmeans(pts(4), 2, 2, 1.5, { seed: 1 })).toThrow('k must be a positive integer, got 1.5');
    expect(() => checkKmeans(pts(4), 2, 2, 1, { seed: 1, maxIter: -1 })).toThrow('maxIter must be a non-negative integer, got -1');
    expect(() => checkKmeans(pts(4), 2, 2, 1, { seed: NaN })).toThrow('seed must be an integer, got NaN');
    expect(() => checkKmeans([0, 1, 2, 3] as unknown as Float32Array, 2, 2, 1, { seed: 1 })).toThrow('points must be a Float32Array');
  });

  it('refuses shapes beyond the device limits', () => {
    expect(() => checkKmeans(pts(1000), 10, 100, 2, { seed: 1 }, { ...LIMITS, maxStorageBufferBindingSize: 2000 })).toThrow(
      'kmeans: the points take 4000 bytes, more than this GPU binds in one buffer (2000); use fewer points or dimensions',
    );
    expect(() => checkKmeans(pts(64 * 40), 40, 64, 40, { seed: 1 }, { ...LIMITS, maxComputeWorkgroupsPerDimension: 1 })).toThrow(
      'kmeans: d = 64 and k = 40 need 2 workgroup rows in the centroid sums, more than this GPU\'s 1',
    );
  });
});
