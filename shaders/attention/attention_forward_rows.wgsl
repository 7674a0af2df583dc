// attention_forward_rows: attention_forward with one invocation per (query i, head h, batch b)
// instead of a workgroup: the same bindings, parameters, overrides (CAUSAL, HAS_MASK) and results,
// all taken from attention_forward.wgsl by the include below (see it for the formulas, the
// layouts, the KV cache, the mask and lse). Keys one at a time with an online softmax (running
// max m and sum l, the accumulator rescaled when m grows), q and the accumulator in private
// arrays. No workgroup memory (the included kernel's arrays belong to its own entry point) and no
// barrier: the work split for a CPU fallback adapter (SwiftShader), where attention_forward's ~16
// barriers per query cost more than its arithmetic (src/ops/attention.ts attentionSplit). On a
// GPU it would starve the cores.
// Reference: src/reference/attention.ts attentionForward.
// Work split: 64 invocations per workgroup, one (b, h, i) row each (row = (b·NH + h)·T + i).
// Outputs out (B, T, NH·D) and lse: `=`.

//#include "attention/attention_forward"
//#include "attention/attention_rows"

@compute @workgroup_size(64, 1, 1)
fn attention_forward_rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = attention_row(gid, nwg);
  if (row >= p.B * p.NH * p.T) { return; }
  let ihb = attention_row_coords(row, p.T, p.NH);
  let i = ihb.x;
  let h = ihb.y;
  let b = ihb.z;
  let kvh = h / (p.NH / p.NKV);
  let qo = (b * p.T + i) * p.qS + p.qO + h * p.D;
  var qv: array<f32, 256>;
  var acc: array<f32, 256>;
  for (var d = 0u; d < p.D; d++) { qv[d] = q[qo + d]; }
  var m = -3.0e38;
  var l = 0.0;
  var nkeys = p.kvT;
  if (CAUSAL) { nkeys = p.pos0 + i + 1u; }
  for (var j = 0u; j < nkeys; j++) {
    if (HAS_MASK && mask[b * p.kvT + j] == 0u) { continue; }
    let ko = (b * p.kvT + j) * p.kS + p.kO + kvh * p.D;
    let vo = (b * p.kvT + j) * p.vS + p.vO + kvh * p.D;
    var s = 0.0;
    for (var d = 0u; d < p.D; d++) { s += qv[d] * k[ko + d]; }
    s *= p.scale;
    if (s > m) {
      let corr = exp(m - s);
      l *= corr;
      for (var d = 0u; d < p.D; d++) { acc[d] *= corr; }
      m = s;
    }
    let e = exp(s - m);
    l += e;
    for (var d = 0u; d < p.D; d++) { acc[d] += e * v[vo + d]; }
  }
  let oo = (b * p.T + i) * p.NH * p.D + h * p.D;
  let seen = l > 0.0;
  for (var d = 0u; d < p.D; d++) { out[oo + d] = select(0.0, acc[d] / l, seen); }
  lse[row] = select(-3.0e38, m + log(l), seen);
}
