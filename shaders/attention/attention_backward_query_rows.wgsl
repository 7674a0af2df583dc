// attention_backward_query_rows: attention_backward_query with one invocation per (query i, head
// h, batch b): the same bindings, parameters and results (dq and delta), taken from
// attention_backward_query.wgsl by the include below (see it for the formulas). Keys one at a
// time; q, dout and the dq accumulator in private arrays; no workgroup memory and no barrier. The
// work split for a CPU fallback adapter (SwiftShader; src/ops/attention.ts attentionSplit).
// Reference: src/reference/attention.ts attentionBackward (the dq part).
// Work split: 64 invocations per workgroup, one row each (row = (b·NH + h)·T + i).
// Outputs: dq (q's layout; only head columns written) `=`; delta `=`.

//#include "attention/attention_backward_query"
//#include "attention/attention_rows"

@compute @workgroup_size(64, 1, 1)
fn attention_backward_query_rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = attention_row(gid, nwg);
  if (row >= p.B * p.NH * p.T) { return; }
  let ihb = attention_row_coords(row, p.T, p.NH);
  let i = ihb.x;
  let h = ihb.y;
  let b = ihb.z;
  let kvh = h / (p.NH / p.NKV);
  let qo = (b * p.T + i) * p.qS + p.qO + h * p.D;
  let go = (b * p.T + i) * p.NH * p.D + h * p.D;
  var qv: array<f32, 256>;
  var dov: array<f32, 256>;
  var acc: array<f32, 256>;
  var dlt = 0.0;
  for (var d = 0u; d < p.D; d++) {
    qv[d] = q[qo + d];
    dov[d] = dout[go + d];
    dlt += dout[go + d] * out[go + d];
  }
  delta[row] = dlt;
  let L = lse[row];
  for (var j = 0u; j <= i; j++) {
    let ko = (b * p.T + j) * p.kS + p.kO + kvh * p.D;
    let vo = (b * p.T + j) * p.vS + p.vO + kvh * p.D;
    var s = 0.0;
    var dp = 0.0;
    for (var d = 0u; d < p.D; d++) {
      s += qv[d] * k[ko + d];
      dp += dov[d] * v[vo + d];
    }
    let ds = exp(s * p.scale - L) * (dp - dlt);
    for (var d = 0u; d < p.D; d++) { acc[d] += ds * k[ko + d]; }
  }
  for (var d = 0u; d < p.D; d++) { dq[qo + d] = acc[d] * p.scale; }
}
