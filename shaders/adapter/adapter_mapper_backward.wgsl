// adapter_mapper_backward: the gradient of the mapped intuition scores (METHOD.md §2). When the
// intuition has k clusters ≠ E, the layer's mapper M (E x k) gives s_E = M s_k, and routing reads
// s_E only through the intuition term g_k = … + 4 (1 − w) s_E_k on the kept experts (the top-k
// selection has no gradient), so per token
//   ds_E[e] = 4 (1 − w) dg[e]   for e in the kept set (pk_e > 0), 0 otherwise,
// with dg as adapter_route_backward forms it: trex dg[i·r2 + j] = a_i dh_j; mor1e dg_k = dh_k a_k.
// A matmul then accumulates dM += ds_Eᵀ · s_k. (The launcher skips both when the intuition term
// is ablated: s_E is then unused.) w = sigmoid(100 w_omega).
// Reference: src/reference/adapter.ts adapterMapperBackward. One thread per (token, expert).
// Output dsE: `=`.

override METHOD: u32 = 0u; // 0 trex, 1 mor1e

struct Params {
  T: u32,
  E: u32,
  rA: u32,
  rB: u32,
}

@group(0) @binding(0) var<storage, read_write> dsE: array<f32>;  // (T, E)
@group(0) @binding(1) var<storage, read> dh: array<f32>;         // (T, rB)
@group(0) @binding(2) var<storage, read> proj: array<f32>;       // (T, E + rA): z | a
@group(0) @binding(3) var<storage, read> route: array<f32>;      // (T, 3E): p | pk | g
@group(0) @binding(4) var<storage, read> gates: array<f32>;      // (2): w_omega, w_beta
@group(0) @binding(5) var<uniform> p: Params;

@compute @workgroup_size(64, 1, 1)
fn adapter_mapper_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i >= p.T * p.E) { return; }
  let t = i / p.E;
  let k = i % p.E;
  let ao = t * (p.E + p.rA) + p.E;
  let ho = t * p.rB;
  var dg: f32;
  if (METHOD == 0u) { dg = proj[ao + k / p.rB] * dh[ho + k % p.rB]; } else { dg = dh[ho + k] * proj[ao + k]; }
  let w = 1.0 / (1.0 + exp(-100.0 * gates[0]));
  var d = 0.0;
  if (route[t * 3u * p.E + p.E + k] > 0.0) { d = 4.0 * (1.0 - w) * dg; }
  dsE[i] = d;
}
