// attention_forward: multi-head self-attention with grouped-query attention, causal (CAUSAL,
// the default) or bidirectional (CAUSAL = false: every query sees all kvT keys, as in BERT),
// optionally with a key padding mask (HAS_MASK: key j of batch entry b is seen only where
// mask[b·kvT + j] ≠ 0, in either mode).
//   out[b,i,h,:] = Σ_{j∈S} softmax_j(q_i·k_j / √D) v_j,   q_i of head h, k_j / v_j of kv head
//   h / (NH / NKV);  lse[b,h,i] = log Σ_{j∈S} exp(q_i·k_j / √D);  S = the keys query i sees.
// A query that sees no key (every key masked) gets out = 0 and lse = -3e38.
// Q, K, V are read in place through a row stride and column offset (element (b,t,head,d) at
// (b·rows + t)·stride + offset + head·D + d, rows = T for q, kvT for k and v): GPT-2's fused
// c_attn output or Llama's separate projections, with no split/merge copies. With a KV cache,
// k and v hold kvT rows per batch entry and query row i sits at position pos0 + i, attending
// keys j ≤ pos0 + i (prefill: pos0 = 0; decoding: pos0 = tokens already cached). Memory for backward: only lse (B·NH·T floats) is
// saved; attention_backward_query / _kv recompute the probabilities from it (flash-style).
// Reference: src/reference/attention.ts attentionForward.
// Work split: one workgroup of 64 threads per (query i, head h, batch b). Keys are processed in
// chunks of 256 with an online softmax (running max and sum), so any T works; threads split
// the keys for the scores and the head dimensions (D ≤ 256) for the weighted sum of V.
// Outputs out (B, T, NH·D) and lse: `=`. The backward kernels are causal and unmasked only.

override CAUSAL: bool = true;
override HAS_MASK: bool = false;

struct Params {
  B: u32, T: u32, NH: u32, NKV: u32,
  D: u32, qS: u32, qO: u32, kS: u32,
  kO: u32, vS: u32, vO: u32, scale: f32,
  kvT: u32,   // rows per batch entry in k / v (T, or a KV cache's capacity)
  pos0: u32,  // absolute position of query row 0 (cached tokens before it)
  _pad0: u32, _pad1: u32,
}

@group(0) @binding(0) var<storage, read_write> out: array<f32>;  // (B, T, NH·D)
@group(0) @binding(1) var<storage, read_write> lse: array<f32>;  // (B, NH, T)
@group(0) @binding(2) var<storage, read> q: array<f32>;          // rows of qS: (B·T, qS)
@group(0) @binding(3) var<storage, read> k: array<f32>;          // rows of kS
@group(0) @binding(4) var<storage, read> v: array<f32>;          // rows of vS
@group(0) @binding(5) var<storage, read> mask: array<u32>;       // (B, kvT) 1 = key, 0 = padding; read only with HAS_MASK
@group(0) @binding(6) var<uniform> p: Params;

const WG: u32 = 64u;
const CHUNK: u32 = 256u;
var<workgroup> qs: array<f32, 256>;
var<workgroup> sc: array<f32, 256>;
var<workgroup> red: array<f32, 64>;

fn reduce(v: f32, tid: u32, is_max: bool) -> f32 {
  red[tid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (tid < s) {
      if (is_max) { red[tid] = max(red[tid], red[tid + s]); } else { red[tid] += red[tid + s]; }
    }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}

@compute @workgroup_size(64, 1, 1)
fn attention_forward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = wg.x;
  let h = wg.y;
  let b = wg.z;
  let tid = lid.x;
  let kvh = h / (p.NH / p.NKV);
  let qo = (b * p.T + i) * p.qS + p.qO + h * p.D;
  for (var d = tid; d < p.D; d += WG) { qs[d] = q[qo + d]; }
  workgroupBarrier();

  var m = -3.0e38;
  var l = 0.0;
  var acc = array<f32, 4>(0.0, 0.0, 0.0, 0.0);
  var nkeys = p.kvT;
  if (CAUSAL) { nkeys = p.pos0 + i + 1u; }
  for (var j0 = 0u; j0 < nkeys; j0 += CHUNK) {
    let cnt = min(CHUNK, nkeys - j0);
    var cmax = -3.0e38;
    for (var jj = tid; jj < cnt; jj += WG) {
      let ko = (b * p.kvT + j0 + jj) * p.kS + p.kO + kvh * p.D;
      var s = 0.0;
      for (var d = 0u; d < p.D; d++) { s += qs[d] * k[ko + d]; }
      s *= p.scale;
      sc[jj] = s;
      if (!HAS_MASK || mask[b * p.kvT + j0 + jj] != 0u) { cmax = max(cmax, s); }
    }
    let newm = max(m, reduce(cmax, tid, true));
    let corr = exp(m - newm);
    var psum = 0.0;
    for (var jj = tid; jj < cnt; jj += WG) {
      var e = exp(sc[jj] - newm);
      if (HAS_MASK && mask[b * p.kvT + j0 + jj] == 0u) { e = 0.0; }
      sc[jj] = e;
      psum += e;
    }
    l = l * corr + reduce(psum, tid, false);
    for (var r = 0u; r < 4u; r++) {
      let d = tid + r * WG;
      if (d < p.D) {
        var a = acc[r] * corr;
        for (var jj = 0u; jj < cnt; jj++) { a += sc[jj] * v[(b * p.kvT + j0 + jj) * p.vS + p.vO + kvh * p.D + d]; }
        acc[r] = a;
      }
    }
    m = newm;
    workgroupBarrier();
  }
  let oo = (b * p.T + i) * p.NH * p.D + h * p.D;
  let seen = l > 0.0;
  for (var r = 0u; r < 4u; r++) {
    let d = tid + r * WG;
    if (d < p.D) { out[oo + d] = select(0.0, acc[r] / l, seen); }
  }
  if (tid == 0u) { lse[(b * p.NH + h) * p.T + i] = select(-3.0e38, m + log(l), seen); }
}
