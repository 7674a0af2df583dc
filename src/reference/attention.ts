// Float64 reference for shaders/attention/*: causal multi-head self-attention with
// grouped-query attention, softmax scaled by 1/sqrt(D). Q, K, V are read in place from the
// projection outputs through a row stride and column offset (GPT-2's fused c_attn output or
// Llama's separate q/k/v outputs), so no head split / merge copies are needed; the output is
// (B, T, NH·D) contiguous. The forward saves only the log-sum-exp of each score row; the
// backward recomputes the probabilities from it (flash-style memory: O(B·NH·T), not O(T²)).
// Same names and argument order as src/ops/attention.ts.

type Arr = Float64Array | Float32Array;

/** Element (b, t, head, d) of a tensor lies at (b·T + t)·stride + offset + head·D + d. */
export interface RowLayout {
  stride: number;
  offset: number;
}

export interface AttentionShape {
  B: number;
  T: number;
  /** Query heads. */
  NH: number;
  /** Key/value heads; NH must be a multiple. Query head h reads kv head floor(h / (NH / NKV)). */
  NKV: number;
  D: number;
  q: RowLayout;
  k: RowLayout;
  v: RowLayout;
  /** Rows per batch entry in k and v (default T; a KV cache's capacity when decoding). */
  kvT?: number;
  /** Absolute position of query row 0: query i attends keys j ≤ pos0 + i (default 0). */
  pos0?: number;
}

export function checkAttentionShape(s: AttentionShape): void {
  if (s.NH % s.NKV) throw new RangeError(`attention: ${s.NH} query heads are not a multiple of ${s.NKV} key/value heads`);
  const kvT = s.kvT ?? s.T;
  if ((s.pos0 ?? 0) + s.T > kvT) throw new RangeError(`attention: positions up to ${(s.pos0 ?? 0) + s.T} do not fit ${kvT} key/value rows`);
}

const at = (l: RowLayout, s: AttentionShape, b: number, t: number, h: number) => (b * s.T + t) * l.stride + l.offset + h * s.D;
const atKV = (l: RowLayout, s: AttentionShape, b: number, t: number, h: number) => (b * (s.kvT ?? s.T) + t) * l.stride + l.offset + h * s.D;

function scores(q: Arr, k: Arr, s: AttentionShape, b: number, h: number, i: number): Float64Array {
  const kvh = Math.floor(h / (s.NH / s.NKV));
  const scale = 1 / Math.sqrt(s.D);
  const last = (s.pos0 ?? 0) + i;
  const out = new Float64Array(last + 1);
  const qo = at(s.q, s, b, i, h);
  for (let j = 0; j <= last; j++) {
    const ko = atKV(s.k, s, b, j, kvh);
    let d = 0;
    for (let c = 0; c < s.D; c++) d += q[qo + c] * k[ko + c];
    out[j] = d * scale;
  }
  return out;
}

/** out[b,t,h,:] = Σ_{j≤t} softmax(q·k/√D)_j v[j]; lse[b,h,t] = log Σ_j exp(score_j). */
export function attentionForward(out: Arr, lse: Arr, q: Arr, k: Arr, v: Arr, s: AttentionShape): void {
  checkAttentionShape(s);
  const C = s.NH * s.D;
  for (let b = 0; b < s.B; b++)
    for (let h = 0; h < s.NH; h++) {
      const kvh = Math.floor(h / (s.NH / s.NKV));
      for (let i = 0; i < s.T; i++) {
        const sc = scores(q, k, s, b, h, i);
        const m = Math.max(...sc);
        let l = 0;
        for (const x of sc) l += Math.exp(x - m);
        lse[(b * s.NH + h) * s.T + i] = m + Math.log(l);
        for (let c = 0; c < s.D; c++) {
          let acc = 0;
          for (let j = 0; j < sc.length; j++) acc += (Math.exp(sc[j] - m) / l) * v[atKV(s.v, s, b, j, kvh) + c];
          out[(b * s.T + i) * C + h * s.D + c] = acc;
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
