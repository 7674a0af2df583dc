// adapter_route_forward: per-token routing and expert mix of an adapted layer (METHOD.md §1).
// Input proj = x·[W_r; A]ᵀ, one row per token: router logits z (E) then expert projections
// a = A x (rA). Per METHOD:
//   0 trex  (rank1_flex): p = softmax(z); u = 32 w p + 4 (1 − w) s; top-k or dense → g (E = r1·r2);
//           h_j = Σ_i g[i·r2 + j] a_i                                    (hB = h, r2 values)
//   1 mor1e (rank1):      same g; hB_k = a_k g_k                         (E values)
//   2 molora: P = softmax(z) over 8; hB_k = a_k P_(k mod 8)
//   3 sira:   as molora keeping the top 6 of 8 probabilities (others 0, not renormalised)
//   4 lora:   hB = a · alpha / r (no router; E = 0)
// w = sigmoid(100 w_omega). Top-k (trex / mor1e, k < E): the k largest u (ties: lower index),
// p renormalised over them (pk), g = 32 w pk + 4 (1 − w) s on the kept set, 0 elsewhere.
// USE_ROUTER / USE_INTUITION = false drop the 32 w p or the 4 (1 − w) s term (ablations).
// Saved for backward and statistics: route = [p | pk | g] per token (3E), and top1 = argmax of
// the dense u (trex / mor1e) or of P (molora / sira). For molora / sira the pk slot holds the
// kept flag (1 or 0) and g holds q.
// Reference: src/reference/adapter.ts adapterForward. One thread per token (E ≤ 256).
// Outputs route, hB, top1: `=`.

override METHOD: u32 = 0u;
override USE_ROUTER: bool = true;
override USE_INTUITION: bool = true;

struct Params {
  T: u32,
  E: u32,     // router outputs (0 for lora)
  rA: u32,    // rows of A
  rB: u32,    // columns of B
  topk: u32,  // kept experts (E = dense)
  scale: f32, // lora: alpha / r
  _pad0: u32,
  _pad1: u32,
}

@group(0) @binding(0) var<storage, read_write> route: array<f32>;  // (T, 3E): p | pk | g
@group(0) @binding(1) var<storage, read_write> hB: array<f32>;     // (T, rB)
@group(0) @binding(2) var<storage, read_write> top1: array<u32>;   // (T)
@group(0) @binding(3) var<storage, read> proj: array<f32>;         // (T, E + rA)
@group(0) @binding(4) var<storage, read> s: array<f32>;            // (T, E) intuition scores
@group(0) @binding(5) var<storage, read> gates: array<f32>;        // (2): w_omega, w_beta
@group(0) @binding(6) var<uniform> p: Params;

fn sigmoid(v: f32) -> f32 { return 1.0 / (1.0 + exp(-v)); }

// The dense routing score u_k (also what top-k ranks).
fn score(t: u32, k: u32, pk: f32, w: f32) -> f32 {
  var u = 0.0;
  if (USE_ROUTER) { u += 32.0 * w * pk; }
  if (USE_INTUITION) { u += 4.0 * (1.0 - w) * s[t * p.E + k]; }
  return u;
}

@compute @workgroup_size(64, 1, 1)
fn adapter_route_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = gid.x + gid.y * nwg.x * 64u;
  if (t >= p.T) { return; }
  let W = p.E + p.rA;
  let pr = t * W;
  let ao = pr + p.E;
  let ro = t * 3u * p.E;
  if (METHOD == 4u) {
    for (var r = 0u; r < p.rA; r++) { hB[t * p.rB + r] = proj[ao + r] * p.scale; }
    top1[t] = 0u;
    return;
  }
  // Softmax of the router logits (stored in the p slot).
  var mx = -3.0e38;
  for (var k = 0u; k < p.E; k++) { mx = max(mx, proj[pr + k]); }
  var sum = 0.0;
  for (var k = 0u; k < p.E; k++) {
    let e = exp(proj[pr + k] - mx);
    route[ro + k] = e;
    sum += e;
  }
  for (var k = 0u; k < p.E; k++) { route[ro + k] = route[ro + k] / sum; }

  if (METHOD >= 2u) {
    // MoLoRA / SiRA: q_e = P_e (SiRA: 0 unless among the 6 largest, ties to the lower index).
    var best = 0u;
    for (var e = 0u; e < p.E; e++) {
      let pe = route[ro + e];
      if (pe > route[ro + best]) { best = e; }
      var q = pe;
      var keep = 1.0;
      if (METHOD == 3u) {
        var above = 0u;
        for (var j = 0u; j < p.E; j++) {
          let pj = route[ro + j];
          if (pj > pe || (pj == pe && j < e)) { above++; }
        }
        if (above >= 6u) { q = 0.0; keep = 0.0; }
      }
      route[ro + p.E + e] = keep;
      route[ro + 2u * p.E + e] = q;
    }
    top1[t] = best;
    for (var r = 0u; r < p.rA; r++) { hB[t * p.rB + r] = proj[ao + r] * route[ro + 2u * p.E + (r % 8u)]; }
    return;
  }

  let w = sigmoid(100.0 * gates[0]);
  // Dense scores, their argmax (load-balance statistics), and the top-k set.
  var best = 0u;
  var bestU = -3.0e38;
  for (var k = 0u; k < p.E; k++) {
    let u = score(t, k, route[ro + k], w);
    if (u > bestU) { bestU = u; best = k; }
  }
  top1[t] = best;
  if (p.topk >= p.E) {
    for (var k = 0u; k < p.E; k++) {
      route[ro + p.E + k] = route[ro + k];
      route[ro + 2u * p.E + k] = score(t, k, route[ro + k], w);
    }
  } else {
    // Rank of u_k among all scores (ties to the lower index): kept when rank < topk.
    var kept = 0.0;
    for (var k = 0u; k < p.E; k++) {
      let uk = score(t, k, route[ro + k], w);
      var above = 0u;
      for (var j = 0u; j < p.E; j++) {
        let uj = score(t, j, route[ro + j], w);
        if (uj > uk || (uj == uk && j < k)) { above++; }
      }
      // pk slot temporarily holds 1 for kept experts.
      if (above < p.topk) { route[ro + p.E + k] = 1.0; kept += route[ro + k]; } else { route[ro + p.E + k] = 0.0; }
    }
    for (var k = 0u; k < p.E; k++) {
      if (route[ro + p.E + k] > 0.0) {
        let pk = route[ro + k] / kept;
        route[ro + p.E + k] = pk;
        route[ro + 2u * p.E + k] = score(t, k, pk, w);
      } else {
        route[ro + 2u * p.E + k] = 0.0;
      }
    }
  }
  // Mix: trex h_j = Σ_i G[i][j] a_i (G = g as r1 x r2); mor1e hB_k = a_k g_k.
  if (METHOD == 0u) {
    for (var j = 0u; j < p.rB; j++) {
      var h = 0.0;
      for (var i = 0u; i < p.rA; i++) { h += route[ro + 2u * p.E + i * p.rB + j] * proj[ao + i]; }
      hB[t * p.rB + j] = h;
    }
  } else {
    for (var k = 0u; k < p.E; k++) { hB[t * p.rB + k] = proj[ao + k] * route[ro + 2u * p.E + k]; }
  }
}
