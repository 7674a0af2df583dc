// adapter_reg_backward: the router regularisers' share of dz (METHOD.md §1), added to the dz
// slots of dproj that adapter_route_backward wrote (trex / mor1e, when λ_H or λ_LB ≠ 0):
//   dz += p ⊙ (dp_reg − <p, dp_reg>)  for real tokens (mask 1, or every token unless MASKED),
//   dp_reg_k = (λ_H · −(log p_k + 1) + λ_LB · E · f_k) / N
// the gradient of λ_H · mean H(p) + λ_LB · E · Σ_k f_k P_k with both means over the N real
// tokens. p is the full softmax; f (top-1 shares, no gradient) and N (group 0's count) come from
// adapter_route_stats, which skips the same padding tokens. Padding tokens (and every token
// when N = 0) get nothing. log p is clamped: an underflowed p must not give 0·∞.
// Reference: src/reference/adapter.ts adapterBackward. Work split as adapter_route_forward:
// 256 / LANES tokens per workgroup, lane l owns experts l, l + LANES, …; <p, dp_reg> is a
// per-lane sum, then a tree reduction over the token's lanes in workgroup memory.
// Output dproj (dz slots only): `+=`.

override MASKED: bool = false;
override LANES: u32 = 32u;

struct Params {
  T: u32,
  E: u32,
  rA: u32,
  _pad0: u32,
  lambdaH: f32,
  lambdaLB: f32,
  _pad1: u32,
  _pad2: u32,
}

@group(0) @binding(0) var<storage, read_write> dproj: array<f32>;  // (T, E + rA): dz | da
@group(0) @binding(1) var<storage, read> route: array<f32>;        // (T, 3E): p | pk | g
@group(0) @binding(2) var<storage, read> stats: array<f32>;        // group 0: f (E) | P | G | H | count
@group(0) @binding(3) var<storage, read> mask: array<u32>;         // (T), 1 = real, 0 = padding (MASKED)
@group(0) @binding(4) var<uniform> p: Params;

// dL/dp_k of the regularisers for one real token.
fn reg_grad(pk: f32, k: u32, invN: f32) -> f32 {
  var g = 0.0;
  if (p.lambdaH != 0.0) { g += p.lambdaH * -(log(max(pk, 1e-30)) + 1.0); }
  if (p.lambdaLB != 0.0) { g += p.lambdaLB * f32(p.E) * stats[k]; }
  return g * invN;
}

const WG: u32 = 256u;

var<workgroup> red: array<f32, 256>;

@compute @workgroup_size(256, 1, 1)
fn adapter_reg_backward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
  let lid = lid3.x;
  let lane = lid % LANES;
  let base = lid - lane;
  let t = (wg.x + wg.y * nwg.x) * (WG / LANES) + lid / LANES;
  let N = stats[3u * p.E + 1u];
  var live = t < p.T && N > 0.0;
  if (MASKED && live) { live = mask[t] != 0u; }
  // This lane's experts: k = lane + i · LANES < E (none for padding and skipped tokens).
  var kEnd = 0u;
  if (live) { kEnd = p.E; }
  let invN = 1.0 / max(N, 1.0);
  let po = t * (p.E + p.rA);
  let ro = t * 3u * p.E;
  var rdot = 0.0;
  for (var k = lane; k < kEnd; k += LANES) {
    let pk = route[ro + k];
    rdot += pk * reg_grad(pk, k, invN);
  }
  var tot = rdot;
  if (LANES > 1u) {
    red[lid] = rdot;
    workgroupBarrier();
    for (var st = LANES / 2u; st > 0u; st >>= 1u) {
      if (lane < st) { red[lid] += red[lid + st]; }
      workgroupBarrier();
    }
    tot = red[base];
  }
  for (var k = lane; k < kEnd; k += LANES) {
    let pk = route[ro + k];
    dproj[po + k] += pk * (reg_grad(pk, k, invN) - tot);
  }
}
