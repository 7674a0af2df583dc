// Float64 reference for shaders/attention/*: causal multi-head self-attention with
// grouped-query attention, softmax scaled by 1/sqrt(D), or (causal = false) bidirectional
// attention over every key, as in BERT; either with an optional key padding mask (B, kvT):
// keys whose mask is 0 are never attended. Q, K, V are read in place from the
// projection outputs through a row stride and column offset (GPT-2's fused c_attn output or
// Llama's separate q/k/v outputs), so no head split / merge copies are needed; the output is
// (B, T, NH·D) contiguous. The forward saves only the log-sum-exp of each score row; the
// backward recomputes the probabilities from it (flash-style memory: O(B·NH·T), not O(T²)).
// Same names and argument order as src/ops/attention.ts.
import type { RowLayout, AttentionShape } from '../ops/shapes.ts';
export type { RowLayout, AttentionShape };
import { checkAttentionShape } from '../ops/shapes.ts';
export { checkAttentionShape };

type Arr = Float64Array | Float32Array;

/** Keys query i of batch entry b sees: j ≤ pos0 + i when causal (else all kvT), where the key mask is non-zero. */
function visibleKeys(s: AttentionShape, b: number, i: number, keyMask: ArrayLike<number> | null): number[] {
  const kvT = s.kvT ?? s.T;
  const n = s.causal === false ? kvT : (s.pos0 ?? 0) + i + 1;
  const keys: number[] = [];
  for (let j = 0; j < n; j++) if (!keyMask || keyMask[b * kvT + j] !== 0) keys.push(j);
  return keys;
}

const at = (l: RowLayout, s: AttentionShape, b: number, t: number, h: number) => (b * s.T + t) * l.stride + l.offset + h * s.D;
const atKV = (l: RowLayout, s: AttentionShape, b: number, t: number, h: number) => (b * (s.kvT ?? s.T) + t) * l.stride + l.offset + h * s.D;

/** Scores q_i·k_j/√D of query i against `keys` (default: keys 0..pos0 + i). */
function scores(q: Arr, k: Arr, s: AttentionShape, b: number, h: number, i: number, keys?: number[]): Float64Array {
  const kvh = Math.floor(h / (s.NH / s.NKV));
  const scale = 1 / Math.sqrt(s.D);
  const js = keys ?? Array.from({ length: (s.pos0 ?? 0) + i + 1 }, (_, j) => j);
  const out = new Float64Array(js.length);
  const qo = at(s.q, s, b, i, h);
  js.forEach((j, n) => {
    const ko = atKV(s.k, s, b, j, kvh);
    let d = 0;
    for (let c = 0; c < s.D; c++) d += q[qo + c] * k[ko + c];
    out[n] = d * scale;
  });
  return out;
}

/** The kernels' "minus infinity": lse of a query that sees no key. */
export const NO_KEYS_LSE = -3e38;

/**
 * out[b,t,h,:] = Σ_{j∈S} softmax(q·k/√D)_j v[j]; lse[b,h,t] = log Σ_{j∈S} exp(score_j), S = the
 * keys query t sees (j ≤ pos0 + t when causal, else all; minus those the key mask zeroes). A query
 * that sees no key gets out = 0 and lse = NO_KEYS_LSE.
 */
export function attentionForward(out: Arr, lse: Arr, q: Arr, k: Arr, v: Arr, s: AttentionShape, keyMask: ArrayLike<number> | null = null): void {
  checkAttentionShape(s);
  const C = s.NH * s.D;
  for (let b = 0; b < s.B; b++)
    for (let h = 0; h < s.NH; h++) {
      const kvh = Math.floor(h / (s.NH / s.NKV));
      for (let i = 0; i < s.T; i++) {
        const keys = visibleKeys(s, b, i, keyMask);
        const sc = scores(q, k, s, b, h, i, keys);
        const o = (b * s.T + i) * C + h * s.D;
        if (!keys.length) {
          lse[(b * s.NH + h) * s.T + i] = NO_KEYS_LSE;
          for (let c = 0; c < s.D; c++) out[o + c] = 0;
          continue;
        }
        const m = Math.max(...sc);
        let l = 0;
        for (const x of sc) l += Math.exp(x - m);
        lse[(b * s.NH + h) * s.T + i] = m + Math.log(l);
        for (let c = 0; c < s.D; c++) {
          let acc = 0;
          for (let n = 0; n < keys.length; n++) acc += (Math.exp(sc[n] - m) / l) * v[atKV(s.v, s, b, keys[n], kvh) + c];
          out[o + c] = acc;
        }
      }
    }
}

/**
 * dq, dk, dv (assigned, in the layouts of q, k, v; elements outside the head columns are left
 * alone) from dout (B, T, NH·D), using the saved lse and the forward output.
 */
export function attentionBackward(dq: Arr, dk: Arr, dv: Arr, dout: Arr, q: Arr, k: Arr, v: Arr, out: Arr, lse: Arr, s: AttentionShape): void {
  checkAttentionShape(s);
  if (s.causal === false) throw new Error('attentionBackward: only causal attention has a backward (the non-causal mode serves the sentence encoder, forward only)');
  if ((s.pos0 ?? 0) !== 0 || (s.kvT ?? s.T) !== s.T) throw new Error('attentionBackward: training attention has no KV cache (pos0 0, kvT = T)');
  const C = s.NH * s.D;
  const scale = 1 / Math.sqrt(s.D);
  for (let b = 0; b < s.B; b++)
    for (let t = 0; t < s.T; t++) {
      for (let h = 0; h < s.NH; h++) for (let c = 0; c < s.D; c++) dq[at(s.q, s, b, t, h) + c] = 0;
      for (let h = 0; h < s.NKV; h++)
        for (let c = 0; c < s.D; c++) {
          dk[at(s.k, s, b, t, h) + c] = 0;
          dv[at(s.v, s, b, t, h) + c] = 0;
        }
    }
  for (let b = 0; b < s.B; b++)
    for (let h = 0; h < s.NH; h++) {
      const kvh = Math.floor(h / (s.NH / s.NKV));
      for (let i = 0; i < s.T; i++) {
        const sc = scores(q, k, s, b, h, i);
        const L = lse[(b * s.NH + h) * s.T + i];
        const go = (b * s.T + i) * C + h * s.D;
        let delta = 0;
        for (let c = 0; c < s.D; c++) delta += dout[go + c] * out[go + c];
        for (let j = 0; j <= i; j++) {
          const p = Math.exp(sc[j] - L);
          const vo = at(s.v, s, b, j, kvh);
          const ko = at(s.k, s, b, j, kvh);
          const qo = at(s.q, s, b, i, h);
          let dp = 0;
          for (let c = 0; c < s.D; c++) dp += dout[go + c] * v[vo + c];
          const ds = p * (dp - delta) * scale;
          for (let c = 0; c < s.D; c++) {
            dq[qo + c] += ds * k[ko + c];
            dk[ko + c] += ds * q[qo + c];
            dv[vo + c] += p * dout[go + c];
          }
        }
      }
    }
}
