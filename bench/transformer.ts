// Transformer-op benchmark bodies (shared by the browser page and the Node runner): attention
// forward+backward and fused cross-entropy forward+backward at growing sequence lengths, to
// show how their cost grows with T.
import type { Engine } from '../src/gpu/engine.ts';
import { attentionBackward, attentionForward } from '../src/ops/attention.ts';
import { crossEntropyBackward, crossEntropyForward } from '../src/ops/crossEntropy.ts';
import type { AttentionShape } from '../src/reference/attention.ts';
import { randomData } from './matmul.ts';
import { round, timeRuns } from './timing.ts';
import type { ResultRow } from './results.mjs';

export const SEQ_LENGTHS = [128, 256, 512];

/** One GPT-2-small-like attention layer slice: B=1, NH=4 heads of D=64, fused qkv layout. */
export async function benchAttention(engine: Engine, adapter: string, T: number, runs: number): Promise<ResultRow> {
  const NH = 4, D = 64, C = NH * D;
  const s: AttentionShape = { B: 1, T, NH, NKV: NH, D, q: { stride: 3 * C, offset: 0 }, k: { stride: 3 * C, offset: C }, v: { stride: 3 * C, offset: 2 * C } };
  const qkv = engine.createBuffer('bench.qkv', randomData(T * 3 * C, 3));
  const out = engine.createBuffer('bench.out', T * C * 4);
  const lse = engine.createBuffer('bench.lse', NH * T * 4);
  const dout = engine.createBuffer('bench.dout', randomData(T * C, 4));
  const dqkv = engine.createBuffer('bench.dqkv', T * 3 * C * 4);
  try {
    const fwd = await timeRuns(async () => {
      attentionForward(engine, out, lse, qkv, qkv, qkv, s);
      await engine.submit();
    }, { runs });
    const bwd = await timeRuns(async () => {
      attentionBackward(engine, dqkv, dqkv, dqkv, dout, qkv, qkv, qkv, out, lse, s);
      await engine.submit();
    }, { runs });
    return {
      bench: 'attention', shape: `B=1 T=${T} NH=${NH} D=${D}`, adapter,
      forward_ms: round(fwd.medianMs, 4), backward_ms: round(bwd.medianMs, 4), total_ms: round(fwd.medianMs + bwd.medianMs, 4), runs,
    };
  } finally {
    for (const b of [qkv, out, lse, dout, dqkv]) b.destroy();
  }
}

/** Cross-entropy over GPT-2's vocabulary (V = 50257) for T tokens, a quarter of them masked. */
export async function benchCrossEntropy(engine: Engine, adapter: string, T: number, runs: number): Promise<ResultRow> {
  const V = 50257;
  const targets = Int32Array.from({ length: T }, (_, i) => (i % 4 === 0 ? -100 : (i * 7919) % V));
  const count = targets.filter((t) => t >= 0).length;
  const logitsData = randomData(T * V, 5);
  const logits = engine.createBuffer('bench.logits', logitsData);
  const losses = engine.createBuffer('bench.losses', T * 4);
  const tgt = engine.createBuffer('bench.targets', targets);
  const s = { N: T, V, count };
  try {
    const fwd = await timeRuns(async () => {
      crossEntropyForward(engine, losses, logits, tgt, s);
      await engine.submit();
    }, { runs });
    const bwd = await timeRuns(async () => {
      engine.write(logits, logitsData); // the backward overwrites logits in place
      crossEntropyBackward(engine, logits, losses, tgt, s);
      await engine.submit();
    }, { runs });
    return {
      bench: 'cross_entropy', shape: `T=${T} V=${V}`, adapter,
      forward_ms: round(fwd.medianMs, 4), backward_ms: round(bwd.medianMs, 4), runs,
      note: 'backward = fused loss + dlogits in place; its time includes re-uploading the logits',
    };
  } finally {
    for (const b of [logits, losses, tgt]) b.destroy();
  }
}
