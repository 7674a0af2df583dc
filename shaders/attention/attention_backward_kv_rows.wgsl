// attention_backward_kv_rows: attention_backward_kv with one invocation per (key j, kv head,
// batch b): the same bindings, parameters, VALUE override and results (dk, or dv with VALUE),
// taken from attention_backward_kv.wgsl by the include below (see it for the formulas). The query
// heads sharing the kv head and the queries i ≥ j one at a time; the key (and value) row and the
// accumulator in private arrays; no workgroup memory and no barrier. The work split for a CPU
// fallback adapter (SwiftShader; src/ops/attention.ts attentionSplit).
// Reference: src/reference/attention.ts attentionBackward (the dk, dv part).
// Work split: 64 invocations per workgroup, one row each (row = (b·NKV + kvh)·T + j).
// Output dkv (k's or v's layout; only head columns written): `=`.

//#include "attention/attention_backward_kv"
//#include "attention/attention_rows"

@compute @workgroup_size(64, 1, 1)
fn attention_backward_kv_rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = attention_row(gid, nwg);
  if (row >= p.B * p.NKV * p.T) { return; }
  let jhb = attention_row_coords(row, p.T, p.NKV);
  let j = jhb.x;
  let kvh = jhb.y;
  let b = jhb.z;
  let group = p.NH / p.NKV;
  let ko = (b * p.T + j) * p.kS + p.kO + kvh * p.D;
  let vo = (b * p.T + j) * p.vS + p.vO + kvh * p.D;
  var kv: array<f32, 256>;
  var vv: array<f32, 256>;
  var acc: array<f32, 256>;
  for (var d = 0u; d < p.D; d++) {
    kv[d] = k[ko + d];
    if (!VALUE) { vv[d] = v[vo + d]; }
  }
  for (var hh = 0u; hh < group; hh++) {
    let h = kvh * group + hh;
    for (var i = j; i < p.T; i++) {
      let qo = (b * p.T + i) * p.qS + p.qO + h * p.D;
      let go = (b * p.T + i) * p.NH * p.D + h * p.D;
      let r = (b * p.NH + h) * p.T + i;
      var s = 0.0;
      var dp = 0.0;
      for (var d = 0u; d < p.D; d++) {
        s += q[qo + d] * kv[d];
        if (!VALUE) { dp += dout[go + d] * vv[d]; }
      }
      let pr = exp(s * p.scale - lse[r]);
      if (VALUE) {
        for (var d = 0u; d < p.D; d++) { acc[d] += pr * dout[go + d]; }
      } else {
        let w = pr * (dp - delta[r]);
        for (var d = 0u; d < p.D; d++) { acc[d] += w * q[qo + d]; }
      }
    }
  }
  var o = ko;
  var f = p.scale;
  if (VALUE) { o = vo; f = 1.0; }
  for (var d = 0u; d < p.D; d++) { dkv[o + d] = acc[d] * f; }
}
