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
// Reference: src/reference/adapter.ts adapterBackward (with λ_H = λ_LB = 0).
// Work split as adapter_route_forward: 256 / LANES tokens per workgroup, LANES lanes per token;
// lane l owns experts l, l + LANES, … (and rows of A the same way). The dot product
// <pk, 32 w dg> and the ω partial are per-lane sums, then one tree reduction over the token's
// lanes in workgroup memory.
// Outputs dproj, omegaPart: `=`.

override METHOD: u32 = 0u;
override USE_ROUTER: bool = true;
override USE_INTUITION: bool = true;
override LANES: u32 = 32u;

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

const WG: u32 = 256u;

var<workgroup> r0: array<f32, 256>;
var<workgroup> r1: array<f32, 256>;

fn sigmoid(v: f32) -> f32 { return 1.0 / (1.0 + exp(-v)); }

// Sums of (v0, v1) over the lanes of this thread's token (base = first lane's index); once per
// invocation, so the arrays are never reused.
fn seg_sum2(lid: u32, lane: u32, base: u32, v0: f32, v1: f32) -> vec2<f32> {
  if (LANES == 1u) { return vec2<f32>(v0, v1); }
  r0[lid] = v0;
  r1[lid] = v1;
  workgroupBarrier();
  for (var st = LANES / 2u; st > 0u; st >>= 1u) {
    if (lane < st) {
      r0[lid] += r0[lid + st];
      r1[lid] += r1[lid + st];
    }
    workgroupBarrier();
  }
  return vec2<f32>(r0[base], r1[base]);
}

@compute @workgroup_size(256, 1, 1)
fn adapter_route_backward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
  let lid = lid3.x;
  let lane = lid % LANES;
  let base = lid - lane;
  let t = (wg.x + wg.y * nwg.x) * (WG / LANES) + lid / LANES;
  let valid = t < p.T;
  let po = t * (p.E + p.rA);
  let ao = po + p.E;
  let ro = t * 3u * p.E;
  let ho = t * p.rB;
  if (METHOD == 4u) {
    if (valid) {
      for (var r = lane; r < p.rA; r += LANES) { dproj[ao + r] = dh[ho + r] * p.scale; }
      if (lane == 0u) { omegaPart[t] = 0.0; }
    }
    return;
  }
  // This lane's experts: k = lane + i · LANES < E (none for padding threads past T).
  var kEnd = 0u;
  var rEnd = 0u;
  if (valid) {
    kEnd = p.E;
    rEnd = p.rA;
  }
  if (METHOD >= 2u) {
    for (var r = lane; r < rEnd; r += LANES) { dproj[ao + r] = dh[ho + r] * route[ro + 2u * p.E + r % 8u]; }
    // dq_e over the rank slots r ≡ e (mod 8), kept in the dz slot until <P, dq> is known; SiRA's
    // dropped experts (kept flag 0 in the pk slot) are constant zeros: no gradient.
    var dot = 0.0;
    for (var e = lane; e < kEnd; e += LANES) {
      var dq = 0.0;
      for (var r = e; r < p.rA; r += 8u) { dq += dh[ho + r] * proj[ao + r]; }
      if (route[ro + p.E + e] == 0.0) { dq = 0.0; }
      dproj[po + e] = dq;
      dot += route[ro + e] * dq;
    }
    let tot = seg_sum2(lid, lane, base, dot, 0.0).x;
    for (var e = lane; e < kEnd; e += LANES) { dproj[po + e] = route[ro + e] * (dproj[po + e] - tot); }
    if (valid && lane == 0u) { omegaPart[t] = 0.0; }
    return;
  }

  let w = sigmoid(100.0 * gates[0]);
  // da: trex da_i = Σ_j G[i][j] dh_j (lane l: rows i = l, l + LANES, …); mor1e da_k = dh_k g_k.
  if (METHOD == 0u) {
    for (var i = lane; i < rEnd; i += LANES) {
      var d = 0.0;
      for (var j = 0u; j < p.rB; j++) { d += route[ro + 2u * p.E + i * p.rB + j] * dh[ho + j]; }
      dproj[ao + i] = d;
    }
  } else {
    for (var k = lane; k < kEnd; k += LANES) { dproj[ao + k] = dh[ho + k] * route[ro + 2u * p.E + k]; }
  }
  // Router term over the kept set (pk_k > 0 marks it), and the gate's share. dg is formed on
  // the fly: trex dg[i·r2 + j] = a_i dh_j; mor1e dg_k = dh_k a_k.
  var dot = 0.0;
  var omega = 0.0;
  for (var k = lane; k < kEnd; k += LANES) {
    let pkk = route[ro + p.E + k];
    if (pkk > 0.0) {
      var dg: f32;
      if (METHOD == 0u) { dg = proj[ao + k / p.rB] * dh[ho + k % p.rB]; } else { dg = dh[ho + k] * proj[ao + k]; }
      dot += pkk * 32.0 * w * dg;
      var c = 0.0;
      if (USE_ROUTER) { c += 32.0 * pkk; }
      if (USE_INTUITION) { c -= 4.0 * s[t * p.E + k]; }
      omega += dg * c;
    }
  }
  let sums = seg_sum2(lid, lane, base, dot, omega);
  for (var k = lane; k < kEnd; k += LANES) {
    let pkk = route[ro + p.E + k];
    var dz = 0.0;
    if (USE_ROUTER && pkk > 0.0) {
      var dg: f32;
      if (METHOD == 0u) { dg = proj[ao + k / p.rB] * dh[ho + k % p.rB]; } else { dg = dh[ho + k] * proj[ao + k]; }
      dz = pkk * (32.0 * w * dg - sums.x);
    }
    dproj[po + k] = dz;
  }
  if (valid && lane == 0u) { omegaPart[t] = sums.y; }
}
