// adapter_route_stats_final: router statistics, stage 2 of 2: the per-chunk partial sums of
// adapter_route_stats added up and turned into the statistics of one adapted layer:
//   f_k    = share of the group's tokens whose top-1 expert is k
//   P_k    = mean router probability p_k
//   G_k    = mean routing weight g_k
//   H      = mean router entropy −Σ p log p (over the full softmax)
//   count  = the group's (real) tokens
// and, for group 0, the Switch load-balance value E · Σ_k f_k P_k. Group 0's H and balance are
// the regulariser values, its f and count feed adapter_reg_backward. Empty groups give zeros.
// Layout of `stats`, per group: f (E) | P (E) | G (E) | H | count, then balance at the very end.
// Reference: src/reference/adapter.ts adapterForward (entropy, balance, f) and routeStats.
// Work split: one workgroup per group; thread k < E owns expert k and sums its partials over
// the chunks; H = Σ_k h_k and Σ_k f_k P_k are tree reductions in workgroup memory.
// Output stats: `=`.

struct Params {
  E: u32,
  groups: u32,  // 1 + number of tasks
  chunks: u32,  // partial blocks per group
  _pad: u32,
}

@group(0) @binding(0) var<storage, read_write> stats: array<f32>;  // (groups · (3E + 2) + 1)
@group(0) @binding(1) var<storage, read> partials: array<f32>;     // (groups · chunks · (4E + 1))
@group(0) @binding(2) var<uniform> p: Params;

var<workgroup> rh: array<f32, 256>;
var<workgroup> rb: array<f32, 256>;

@compute @workgroup_size(256, 1, 1)
fn adapter_route_stats_final(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
  let grp = wg.x;
  let k = lid3.x;
  let block = 4u * p.E + 1u;
  let src = grp * p.chunks * block;
  let stride = 3u * p.E + 2u;
  let o = grp * stride;
  var count = 0.0;
  for (var c = 0u; c < p.chunks; c++) { count += partials[src + c * block + 4u * p.E]; }
  let inv = select(0.0, 1.0 / count, count > 0.0);
  var h = 0.0;
  var fP = 0.0;
  if (k < p.E) {
    var f = 0.0;
    var pm = 0.0;
    var gm = 0.0;
    for (var c = 0u; c < p.chunks; c++) {
      let b = src + c * block;
      f += partials[b + k];
      pm += partials[b + p.E + k];
      gm += partials[b + 2u * p.E + k];
      h += partials[b + 3u * p.E + k];
    }
    stats[o + k] = f * inv;
    stats[o + p.E + k] = pm * inv;
    stats[o + 2u * p.E + k] = gm * inv;
    fP = (f * inv) * (pm * inv);
  }
  rh[k] = h;
  rb[k] = fP;
  workgroupBarrier();
  for (var st = 128u; st > 0u; st >>= 1u) {
    if (k < st) {
      rh[k] += rh[k + st];
      rb[k] += rb[k + st];
    }
    workgroupBarrier();
  }
  if (k == 0u) {
    stats[o + 3u * p.E] = rh[0] * inv;
    stats[o + 3u * p.E + 1u] = count;
    if (grp == 0u) { stats[p.groups * stride] = f32(p.E) * rb[0]; }
  }
}
