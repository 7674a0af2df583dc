// adapter_route_stats: router statistics of one adapted layer for a batch, on the GPU so that
// they are read back with the loss every few steps, never per op. For each group (group 0 = all
// real tokens, group 1 + c = real tokens of task c; with MASKED, tokens whose mask is 0 are
// padding and count in no group) and expert k:
//   f_k    = share of the group's tokens whose top-1 expert is k (top1 from the forward)
//   P_k    = mean router probability p_k
//   G_k    = mean routing weight g_k
//   H      = mean router entropy −Σ p log p (over the full softmax)
//   count  = the group's (real) tokens
// and, for group 0, the Switch load-balance value E · Σ_k f_k P_k. Group 0's H and balance are
// the regulariser values, its f and count feed adapter_reg_backward.
// Layout of `stats`, per group: f (E) | P (E) | G (E) | H | count, then balance at the very end.
// Reference: src/reference/adapter.ts adapterForward (entropy, balance, f) and routeStats.
// Work split: one workgroup per group; thread k < E owns expert k; thread 0 also sums entropy.
// Output stats: `=`.

override MASKED: bool = false;

struct Params {
  T: u32,
  E: u32,
  groups: u32,  // 1 + number of tasks
  _pad: u32,
}

@group(0) @binding(0) var<storage, read_write> stats: array<f32>;  // (groups · (3E + 2) + 1)
@group(0) @binding(1) var<storage, read> route: array<f32>;        // (T, 3E): p | pk | g
@group(0) @binding(2) var<storage, read> top1: array<u32>;         // (T)
@group(0) @binding(3) var<storage, read> task: array<u32>;         // (T), task label per token
@group(0) @binding(4) var<storage, read> mask: array<u32>;         // (T), 1 = real, 0 = padding (MASKED)
@group(0) @binding(5) var<uniform> p: Params;

var<workgroup> fk: array<f32, 256>;
var<workgroup> pk: array<f32, 256>;

@compute @workgroup_size(256, 1, 1)
fn adapter_route_stats(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let grp = wg.x;
  let k = lid.x;
  let stride = 3u * p.E + 2u;
  let o = grp * stride;
  var count = 0.0;
  var f = 0.0;
  var pm = 0.0;
  var gm = 0.0;
  var h = 0.0;
  for (var t = 0u; t < p.T; t++) {
    if (MASKED && mask[t] == 0u) { continue; }
    if (grp > 0u && task[t] + 1u != grp) { continue; }
    count += 1.0;
    if (k < p.E) {
      let ro = t * 3u * p.E;
      if (top1[t] == k) { f += 1.0; }
      pm += route[ro + k];
      gm += route[ro + 2u * p.E + k];
    }
    if (k == 0u) {
      for (var j = 0u; j < p.E; j++) {
        let pj = route[t * 3u * p.E + j];
        if (pj > 0.0) { h -= pj * log(pj); }
      }
    }
  }
  let inv = select(0.0, 1.0 / count, count > 0.0);
  if (k < p.E) {
    stats[o + k] = f * inv;
    stats[o + p.E + k] = pm * inv;
    stats[o + 2u * p.E + k] = gm * inv;
    fk[k] = f * inv;
    pk[k] = pm * inv;
  }
  if (k == 0u) {
    stats[o + 3u * p.E] = h * inv;
    stats[o + 3u * p.E + 1u] = count;
  }
  workgroupBarrier();
  if (grp == 0u && k == 0u) {
    var b = 0.0;
    for (var j = 0u; j < p.E; j++) { b += fk[j] * pk[j]; }
    stats[p.groups * stride] = f32(p.E) * b;
  }
}
