// attention_backward_kv: dk (default) or dv (VALUE = true) of attention_forward for one key
// row j of one kv head, summed over the query heads that share it (GQA) and the queries i ≥ j:
//   P_ij = exp(q_i·k_j·scale − lse_i)
//   dv_j = Σ_h Σ_{i≥j} P_ij dout_i
//   dk_j = scale · Σ_h Σ_{i≥j} P_ij (dout_i·v_j − delta_i) q_i
// One output per dispatch (dk, then dv) so that both may live in one fused gradient buffer
// without two writable bindings of it in one dispatch. delta comes from attention_backward_query.
// Reference: src/reference/attention.ts attentionBackward (the dk, dv part).
// Work split: one workgroup of 64 threads per (key j, kv head, batch b); queries in chunks of 256.
// Output dkv (k's or v's layout; only head columns written): `=`.

override VALUE: bool = false;

struct Params {
  B: u32, T: u32, NH: u32, NKV: u32,
  D: u32, qS: u32, qO: u32, kS: u32,
  kO: u32, vS: u32, vO: u32, scale: f32,
  kvT: u32,   // rows per batch entry in k / v (T, or a KV cache's capacity)
  pos0: u32,  // absolute position of query row 0 (cached tokens before it)
  _pad0: u32, _pad1: u32,
}

@group(0) @binding(0) var<storage, read_write> dkv: array<f32>;  // rows of kS (dk) or vS (dv)
@group(0) @binding(1) var<storage, read> q: array<f32>;          // rows of qS
@group(0) @binding(2) var<storage, read> k: array<f32>;          // rows of kS
@group(0) @binding(3) var<storage, read> v: array<f32>;          // rows of vS
@group(0) @binding(4) var<storage, read> dout: array<f32>;       // (B, T, NH·D)
@group(0) @binding(5) var<storage, read> lse: array<f32>;        // (B, NH, T)
@group(0) @binding(6) var<storage, read> delta: array<f32>;      // (B, NH, T)
@group(0) @binding(7) var<uniform> p: Params;

const WG: u32 = 64u;
const CHUNK: u32 = 256u;
var<workgroup> ks: array<f32, 256>;
var<workgroup> vs: array<f32, 256>;
var<workgroup> sc: array<f32, 256>;

@compute @workgroup_size(64, 1, 1)
fn attention_backward_kv(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let j = wg.x;
  let kvh = wg.y;
  let b = wg.z;
  let tid = lid.x;
  let group = p.NH / p.NKV;
  let ko = (b * p.T + j) * p.kS + p.kO + kvh * p.D;
  let vo = (b * p.T + j) * p.vS + p.vO + kvh * p.D;
  for (var d = tid; d < p.D; d += WG) {
    ks[d] = k[ko + d];
    vs[d] = v[vo + d];
  }
  workgroupBarrier();

  var acc = array<f32, 4>(0.0, 0.0, 0.0, 0.0);
  for (var hh = 0u; hh < group; hh++) {
    let h = kvh * group + hh;
    for (var i0 = j; i0 < p.T; i0 += CHUNK) {
      let cnt = min(CHUNK, p.T - i0);
      for (var ii = tid; ii < cnt; ii += WG) {
        let i = i0 + ii;
        let qo = (b * p.T + i) * p.qS + p.qO + h * p.D;
        let go = (b * p.T + i) * p.NH * p.D + h * p.D;
        var s = 0.0;
        var dp = 0.0;
        for (var d = 0u; d < p.D; d++) {
          s += q[qo + d] * ks[d];
          if (!VALUE) { dp += dout[go + d] * vs[d]; }
        }
        let row = (b * p.NH + h) * p.T + i;
        let pr = exp(s * p.scale - lse[row]);
        if (VALUE) { sc[ii] = pr; } else { sc[ii] = pr * (dp - delta[row]); }
      }
      workgroupBarrier();
      for (var r = 0u; r < 4u; r++) {
        let d = tid + r * WG;
        if (d < p.D) {
          var a = acc[r];
          for (var ii = 0u; ii < cnt; ii++) {
            let i = i0 + ii;
            if (VALUE) { a += sc[ii] * dout[(b * p.T + i) * p.NH * p.D + h * p.D + d]; }
            else { a += sc[ii] * q[(b * p.T + i) * p.qS + p.qO + h * p.D + d]; }
          }
          acc[r] = a;
        }
      }
      workgroupBarrier();
    }
  }
  var o = ko;
  var f = p.scale;
  if (VALUE) { o = vo; f = 1.0; }
  for (var r = 0u; r < 4u; r++) {
    let d = tid + r * WG;
    if (d < p.D) { dkv[o + d] = acc[r] * f; }
  }
}
