// Matmul benchmark body, shared by the browser page (against tfjs on the same device) and
// the Node runner (ours only): C = A · B at a given M, N, K, timed as dispatch + completion.
import type { Engine } from '../src/gpu/engine.ts';
import { matmulForward, type MatmulVariant } from '../src/ops/matmul.ts';
import { timeRuns, type Timing } from './timing.ts';

export interface MatmulBenchShape {
  M: number;
  N: number;
  K: number;
}

export const MATMUL_SHAPES: Array<MatmulBenchShape & { name: string }> = [
  { name: '128', M: 128, N: 128, K: 128 },
  { name: '256', M: 256, N: 256, K: 256 },
  { name: '512', M: 512, N: 512, K: 512 },
  { name: '1024', M: 1024, N: 1024, K: 1024 },
  { name: 'tokens512 x 576->1536', M: 512, N: 1536, K: 576 },
];

export function randomData(n: number, seed = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 4294967296 - 0.5;
  }
  return out;
}

export async function benchOurMatmul(engine: Engine, s: MatmulBenchShape, variant: MatmulVariant, runs: number): Promise<Timing> {
  const A = engine.createBuffer('bench.A', randomData(s.M * s.K, 1));
  const B = engine.createBuffer('bench.B', randomData(s.K * s.N, 2));
  const C = engine.createBuffer('bench.C', s.M * s.N * 4);
  try {
    return await timeRuns(async () => {
      matmulForward(engine, C, A, B, null, s, false, variant);
      await engine.submit();
    }, { runs });
  } finally {
    A.destroy();
    B.destroy();
    C.destroy();
  }
}
