// Launchers for shaders/attention/*: attentionForward and attentionBackward, same names and
// argument order as src/reference/attention.ts. q, k, v may be one fused buffer (GPT-2), and
// so may dq, dk, dv: each backward dispatch writes a single one of them. The forward also runs
// bidirectionally (shape.causal = false) and with a key padding mask (a u32 buffer (B, kvT),
// 0 = padding); the backward is causal and unmasked only, and throws for anything else.
import { gridElements, params, type Engine } from '../gpu/engine.ts';
import { isCpuAdapter } from '../gpu/device.ts';
import { checkAttentionShape, type AttentionShape } from './shapes.ts';

/**
 * How the attention kernels split their work: 'workgroup' (a workgroup of 64 threads per query,
 * or per key in the dk / dv pass, cooperating through workgroup memory: the GPU's) or 'rows' (the
 * *_rows kernels: one invocation per query or key, plain loops, no barrier: a CPU fallback
 * adapter's). Module-wide so tests can force either; 'auto' picks by adapter (attentionSplit).
 */
export const attentionTuning: { split: 'auto' | 'workgroup' | 'rows' } = { split: 'auto' };

/** The attention kernels' work split on this engine's adapter (see attentionTuning). */
export function attentionSplit(engine: Engine): 'workgroup' | 'rows' {
  if (attentionTuning.split !== 'auto') return attentionTuning.split;
  return isCpuAdapter(engine.ctx.adapter) ? 'rows' : 'workgroup';
}

/** Largest head dimension the kernels hold (4 values per thread x 64 threads; the rows kernels' private arrays). */
export const MAX_HEAD_DIM = 256;

function attnParams(s: AttentionShape): ArrayBuffer {
  return params(
    {
      B: s.B, T: s.T, NH: s.NH, NKV: s.NKV, D: s.D, qS: s.q.stride, qO: s.q.offset, kS: s.k.stride, kO: s.k.offset, vS: s.v.stride, vO: s.v.offset,
      scale: 1 / Math.sqrt(s.D), kvT: s.kvT ?? s.T, pos0: s.pos0 ?? 0, pad0: 0, pad1: 0,
    },
    ['scale'],
  );
}

function check(s: AttentionShape): void {
  checkAttentionShape(s);
  if (s.D > MAX_HEAD_DIM) throw new RangeError(`attention: head dimension ${s.D} exceeds ${MAX_HEAD_DIM}`);
  if (s.T > 65535 || s.NH > 65535 || s.B > 65535) throw new RangeError(`attention: B, T and NH must each be ≤ 65535`);
}

/** out (B, T, NH·D) and lse (B, NH, T), both assigned; keyMask (B, kvT) u32, 0 = a key never attended. */
export function attentionForward(
  engine: Engine, out: GPUBuffer, lse: GPUBuffer, q: GPUBuffer, k: GPUBuffer, v: GPUBuffer, s: AttentionShape, keyMask: GPUBuffer | null = null,
): void {
  check(s);
  const rows = attentionSplit(engine) === 'rows';
  engine.dispatch(engine.kernel(rows ? 'attention/attention_forward_rows' : 'attention/attention_forward', { CAUSAL: s.causal ?? true, HAS_MASK: keyMask !== null }), {
    bindings: [out, lse, q, k, v, keyMask ?? engine.dummy],
    params: attnParams(s),
    workgroups: rows ? gridElements(s.B * s.NH * s.T) : [s.T, s.NH, s.B],
  });
}

/** dq, dk, dv assigned in the layouts of q, k, v (head columns only). */
export function attentionBackward(
  engine: Engine, dq: GPUBuffer, dk: GPUBuffer, dv: GPUBuffer, dout: GPUBuffer, q: GPUBuffer, k: GPUBuffer, v: GPUBuffer,
  out: GPUBuffer, lse: GPUBuffer, s: AttentionShape,
): void {
  check(s);
  if (s.causal === false) throw new Error('attentionBackward: only causal attention has a backward (the non-causal mode serves the sentence encoder, forward only)');
  if ((s.pos0 ?? 0) !== 0 || (s.kvT ?? s.T) !== s.T) throw new Error('attentionBackward: training attention has no KV cache (pos0 0, kvT = T)');
  const p = attnParams(s);
  const rows = attentionSplit(engine) === 'rows', suffix = rows ? '_rows' : '';
  const delta = engine.scratch('attention.delta', s.B * s.NH * s.T * 4);
  engine.dispatch(engine.kernel(`attention/attention_backward_query${suffix}`), {
    bindings: [dq, delta, q, k, v, dout, out, lse],
    params: p,
    workgroups: rows ? gridElements(s.B * s.NH * s.T) : [s.T, s.NH, s.B],
  });
  for (const VALUE of [false, true]) {
    engine.dispatch(engine.kernel(`attention/attention_backward_kv${suffix}`, { VALUE }), {
      bindings: [VALUE ? dv : dk, q, k, v, dout, lse, delta],
      params: p,
      workgroups: rows ? gridElements(s.B * s.NKV * s.T) : [s.T, s.NKV, s.B],
    });
  }
}
