// adapter_route_backward: per-token backward of adapter_route_forward (METHOD.md §3).
// From dh = dL/dhB (= Bᵀ dδ per token) it writes dproj = [dz | da] per token, which two matmuls
// then turn into dW_r, dA (stacked: dproj^T · x) and the router/expert part of dx:
//   trex:  dg[i·r2 + j] = a_i dh_j,  da_i = Σ_j G[i][j] dh_j
//   mor1e: dg_k = dh_k a_k,          da_k = dh_k g_k
//   dz (kept set K): pk ⊙ (32 w dg − <pk, 32 w dg>_K)       (softmax restricted to K; router term)
//      (the router regularisers' share of dz is added afterwards by adapter_reg_backward)
//   omegaPart = Σ_{k∈K} dg_k (32 pk_k − 4 s_k)   (× 100 w (1 − w) in adapter_gates_final)
//   molora / sira: dq_e = Σ_{k mod 8 = e} dh_k a_k (0 for SiRA's dropped e), dz = P ⊙ (dq − <P, dq>),
//                  da_k = dh_k q_(k mod 8)
//   lora:  da = dh · alpha / r
// Reference: src/reference/adapter.ts adapterBackward (with λ_H = λ_LB = 0). One thread per token.
// Outputs dproj, omegaPart: `=`.

override METHOD: u32 = 0u;
override USE_ROUTER: bool = true;
override USE_INTUITION: bool = true;

struct Params {
  T: u32,
  E: u32,
  rA: u32,
  rB: u32,
  scale: f32,     // lora: alpha / r
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

@group(0) @binding(0) var<storage, read_write> dproj: array<f32>;      // (T, E + rA): dz | da
@group(0) @binding(1) var<storage, read_write> omegaPart: array<f32>;  // (T)
@group(0) @binding(2) var<storage, read> dh: array<f32>;               // (T, rB)
@group(0) @binding(3) var<storage, read> proj: array<f32>;             // (T, E + rA): z | a
@group(0) @binding(4) var<storage, read> route: array<f32>;            // (T, 3E): p | pk | g
@group(0) @binding(5) var<storage, read> s: array<f32>;                // (T, E)
@group(0) @binding(6) var<storage, read> gates: array<f32>;            // (2): w_omega, w_beta
@group(0) @binding(7) var<uniform> p: Params;

fn sigmoid(v: f32) -> f32 { return 1.0 / (1.0 + exp(-v)); }

@compute @workgroup_size(64, 1, 1)
fn adapter_route_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = gid.x + gid.y * nwg.x * 64u;
  if (t >= p.T) { return; }
  let W = p.E + p.rA;
  let po = t * W;
  let ao = po + p.E;
  let ro = t * 3u * p.E;
  let ho = t * p.rB;
  if (METHOD == 4u) {
    for (var r = 0u; r < p.rA; r++) { dproj[ao + r] = dh[ho + r] * p.scale; }
    omegaPart[t] = 0.0;
    return;
  }
  if (METHOD >= 2u) {
    // dq_e accumulates in dproj's dz slot, then becomes dz in place.
    for (var e = 0u; e < p.E; e++) { dproj[po + e] = 0.0; }
    for (var r = 0u; r < p.rA; r++) {
      let e = r % 8u;
      dproj[ao + r] = dh[ho + r] * route[ro + 2u * p.E + e];
      dproj[po + e] += dh[ho + r] * proj[ao + r];
    }
    var dot = 0.0;
    for (var e = 0u; e < p.E; e++) {
      // SiRA's dropped experts (kept flag 0 in the pk slot) are constant zeros: no gradient.
      if (route[ro + p.E + e] == 0.0) { dproj[po + e] = 0.0; }
      dot += route[ro + e] * dproj[po + e];
    }
    for (var e = 0u; e < p.E; e++) { dproj[po + e] = route[ro + e] * (dproj[po + e] - dot); }
    omegaPart[t] = 0.0;
    return;
  }

  let w = sigmoid(100.0 * gates[0]);
  // dg is formed on the fly: trex dg[i·r2 + j] = a_i dh_j; mor1e dg_k = dh_k a_k.
  // da first.
  if (METHOD == 0u) {
    for (var i = 0u; i < p.rA; i++) {
      var d = 0.0;
      for (var j = 0u; j < p.rB; j++) { d += route[ro + 2u * p.E + i * p.rB + j] * dh[ho + j]; }
      dproj[ao + i] = d;
    }
  } else {
    for (var k = 0u; k < p.E; k++) { dproj[ao + k] = dh[ho + k] * route[ro + 2u * p.E + k]; }
  }
  // Router term over the kept set (g_k ≠ 0 or pk_k ≠ 0 marks it), and the gate's share.
  var dot = 0.0;
  var omega = 0.0;
  for (var k = 0u; k < p.E; k++) {
    var dg: f32;
    if (METHOD == 0u) { dg = proj[ao + k / p.rB] * dh[ho + k % p.rB]; } else { dg = dh[ho + k] * proj[ao + k]; }
    let pkk = route[ro + p.E + k];
    if (pkk > 0.0) {
      dot += pkk * 32.0 * w * dg;
      var c = 0.0;
      if (USE_ROUTER) { c += 32.0 * pkk; }
      if (USE_INTUITION) { c -= 4.0 * s[t * p.E + k]; }
      omega += dg * c;
    }
  }
  for (var k = 0u; k < p.E; k++) {
    var dg: f32;
    if (METHOD == 0u) { dg = proj[ao + k / p.rB] * dh[ho + k % p.rB]; } else { dg = dh[ho + k] * proj[ao + k]; }
    let pkk = route[ro + p.E + k];
    var dz = 0.0;
    if (USE_ROUTER && pkk > 0.0) { dz += pkk * (32.0 * w * dg - dot); }
    dproj[po + k] = dz;
  }
  omegaPart[t] = omega;
}
