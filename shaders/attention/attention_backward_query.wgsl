// attention_backward_query: dq of attention_forward, and delta_i = Σ_d dout_i·out_i, which
// attention_backward_kv needs. Probabilities are recomputed from the saved lse:
//   P_ij = exp(q_i·k_j·scale − lse_i), dP_ij = dout_i·v_j, dS_ij = P_ij (dP_ij − delta_i)
//   dq_i = scale · Σ_{j≤i} dS_ij k_j
// Reference: src/reference/attention.ts attentionBackward (the dq part).
// Work split: one workgroup of 64 threads per (query i, head h, batch b); keys in chunks of
// 256; threads split keys for the scores and head dimensions for the sum.
// Outputs: dq (q's layout; only head columns written) `=`; delta `=`.

struct Params {
  B: u32, T: u32, NH: u32, NKV: u32,
  D: u32, qS: u32, qO: u32, kS: u32,
  kO: u32, vS: u32, vO: u32, scale: f32,
  kvT: u32,   // rows per batch entry in k / v (T, or a KV cache's capacity)
  pos0: u32,  // absolute position of query row 0 (cached tokens before it)
  _pad0: u32, _pad1: u32,
}

@group(0) @binding(0) var<storage, read_write> dq: array<f32>;     // rows of qS, like q
@group(0) @binding(1) var<storage, read_write> delta: array<f32>;  // (B, NH, T)
@group(0) @binding(2) var<storage, read> q: array<f32>;            // rows of qS
@group(0) @binding(3) var<storage, read> k: array<f32>;            // rows of kS
@group(0) @binding(4) var<storage, read> v: array<f32>;            // rows of vS
@group(0) @binding(5) var<storage, read> dout: array<f32>;         // (B, T, NH·D)
@group(0) @binding(6) var<storage, read> out: array<f32>;          // (B, T, NH·D)
@group(0) @binding(7) var<storage, read> lse: array<f32>;          // (B, NH, T)
@group(0) @binding(8) var<uniform> p: Params;

const WG: u32 = 64u;
const CHUNK: u32 = 256u;
var<workgroup> qs: array<f32, 256>;
var<workgroup> dos: array<f32, 256>;
var<workgroup> sc: array<f32, 256>;
var<workgroup> red: array<f32, 64>;

@compute @workgroup_size(64, 1, 1)
fn attention_backward_query(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = wg.x;
  let h = wg.y;
  let b = wg.z;
  let tid = lid.x;
  let kvh = h / (p.NH / p.NKV);
  let qo = (b * p.T + i) * p.qS + p.qO + h * p.D;
  let go = (b * p.T + i) * p.NH * p.D + h * p.D;
  var part = 0.0;
  for (var d = tid; d < p.D; d += WG) {
    qs[d] = q[qo + d];
    dos[d] = dout[go + d];
    part += dout[go + d] * out[go + d];
  }
  red[tid] = part;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (tid < s) { red[tid] += red[tid + s]; }
    workgroupBarrier();
  }
  let dlt = red[0];
  let row = (b * p.NH + h) * p.T + i;
  let L = lse[row];
  if (tid == 0u) { delta[row] = dlt; }

  var acc = array<f32, 4>(0.0, 0.0, 0.0, 0.0);
  for (var j0 = 0u; j0 <= i; j0 += CHUNK) {
    let cnt = min(CHUNK, i + 1u - j0);
    for (var jj = tid; jj < cnt; jj += WG) {
      let ko = (b * p.T + j0 + jj) * p.kS + p.kO + kvh * p.D;
      let vo = (b * p.T + j0 + jj) * p.vS + p.vO + kvh * p.D;
      var s = 0.0;
      var dp = 0.0;
      for (var d = 0u; d < p.D; d++) {
        s += qs[d] * k[ko + d];
        dp += dos[d] * v[vo + d];
      }
      sc[jj] = exp(s * p.scale - L) * (dp - dlt);
    }
    workgroupBarrier();
    for (var r = 0u; r < 4u; r++) {
      let d = tid + r * WG;
      if (d < p.D) {
        var a = acc[r];
        for (var jj = 0u; jj < cnt; jj++) { a += sc[jj] * k[(b * p.T + j0 + jj) * p.kS + p.kO + kvh * p.D + d]; }
        acc[r] = a;
      }
    }
    workgroupBarrier();
  }
  for (var r = 0u; r < 4u; r++) {
    let d = tid + r * WG;
    if (d < p.D) { dq[qo + d] = acc[r] * p.scale; }
  }
}
