// Matmul benchmark body, shared by the browser page (against tfjs on the same device) and
// the Node runner (ours only): C = A · op(B) at a given M, N, K, timed as dispatch + completion;
// and the skinny-M rows (few rows against SmolLM2-135M's widths), tiled vs skinny kernel.
import type { Engine } from '../src/gpu/engine.ts';
import { matmulForward, matmulTuning, planMatmul, skinnyKSplitFor, type MatmulVariant } from '../src/ops/matmul.ts';
import { gflops, round, timeRuns, type Timing } from './timing.ts';
import type { ResultRow } from './results.mjs';

export interface MatmulBenchShape {
  M: number;
  N: number;
  K: number;
  /** B stored N x K (nn.Linear); default K x N. */
  transB?: boolean;
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

/** One run = `reps` launches in one submission, until the queue is done (the time is per run). */
export async function benchOurMatmul(engine: Engine, s: MatmulBenchShape, variant: MatmulVariant, runs: number, reps = 1): Promise<Timing> {
  const A = engine.createBuffer('bench.A', randomData(s.M * s.K, 1));
  const B = engine.createBuffer('bench.B', randomData(s.K * s.N, 2));
  const C = engine.createBuffer('bench.C', s.M * s.N * 4);
  try {
    return await timeRuns(async () => {
      for (let i = 0; i < reps; i++) matmulForward(engine, C, A, B, null, s, false, variant);
      await engine.submit();
    }, { runs });
  } finally {
    A.destroy();
    B.destroy();
    C.destroy();
  }
}

/**
 * Skinny-M rows: M = 1, 4, 16 tokens against SmolLM2-135M's widths (hidden 576, MLP 1536), B
 * stored N x K as nn.Linear keeps it (the Llama case), and K x N (GPT-2's Conv1D) for the same
 * shapes. Each row times the tiled kernel (the path before matmul_skinny) and the skinny kernel
 * with this adapter's K split side by side, and the skinny kernel with the other K split (a GPU's
 * 16 / 8 where this is SwiftShader, else 1): `reps` launches per submission, so the per-launch
 * figure is not the submit cost; the kernels alternate run by run, so load on the machine hits all
 * alike.
 */
export const SKINNY_SHAPES: Array<MatmulBenchShape & { name: string }> = [];
for (const transB of [true, false]) {
  for (const [N, K] of [[576, 576], [1536, 576]]) {
    for (const M of [1, 4, 16]) SKINNY_SHAPES.push({ name: `${M}x${N}x${K}${transB ? 't' : ''}`, M, N, K, transB });
  }
}

export async function benchSkinny(engine: Engine, adapter: string, opts: { shapes?: string[]; runs: number; reps?: number }): Promise<ResultRow[]> {
  const reps = opts.reps ?? 10;
  const rows: ResultRow[] = [];
  const saved = matmulTuning.skinnyKSplit;
  try {
    for (const s of SKINNY_SHAPES.filter((x) => !opts.shapes || opts.shapes.includes(x.name))) {
      const flops = 2 * s.M * s.N * s.K;
      const own = skinnyKSplitFor(engine.ctx.adapter, !!s.transB);
      const other = own === 1 ? skinnyKSplitFor({ ...engine.ctx.adapter, architecture: 'gpu', isFallbackAdapter: false }, !!s.transB) : 1;
      const ms: Record<'tiled' | 'skinny' | 'other', number[]> = { tiled: [], skinny: [], other: [] };
      const time = async (variant: MatmulVariant, kSplit: number) => {
        matmulTuning.skinnyKSplit = kSplit;
        return (await benchOurMatmul(engine, s, variant, 1, reps)).medianMs / reps;
      };
      for (let r = 0; r < opts.runs; r++) {
        ms.tiled.push(await time('tiled', 0));
        ms.skinny.push(await time('skinny', own));
        ms.other.push(await time('skinny', other));
      }
      const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
      const t = med(ms.tiled), k = med(ms.skinny), o = med(ms.other);
      rows.push({
        bench: 'matmul_skinny',
        shape: `${s.M} x ${s.K} · ${s.transB ? `(${s.N} x ${s.K})ᵀ` : `${s.K} x ${s.N}`}`,
        adapter,
        kernel: `${planMatmul(s, false, false, 'skinny', own).file.replace('matmul/', '')} KSPLIT=${own}`,
        tiled_ms: round(t, 4),
        skinny_ms: round(k, 4),
        speedup: round(t / k),
        tiled_gflops: round(gflops(flops, t)),
        skinny_gflops: round(gflops(flops, k)),
        // Every B element is read once: the rate a memory-bound kernel is judged by.
        skinny_weight_gb_s: round((s.N * s.K * 4) / (k * 1e6)),
        other_ksplit: other,
        other_ksplit_ms: round(o, 4),
        runs: opts.runs,
        reps,
      });
    }
  } finally {
    matmulTuning.skinnyKSplit = saved;
  }
  return rows;
}
