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
// the dense u (trex / mor1e) or of P (molora / sira), ties to the lower index. For molora / sira
// the pk slot holds the kept flag (1 or 0) and g holds q.
// Reference: src/reference/adapter.ts adapterForward.
// Work split: 256 threads = 256 / LANES tokens of LANES lanes (LANES a power of two; the
// launcher picks the smallest ≥ E up to a per-device cap). Lane l owns experts l, l + LANES, …
// (and columns of hB the same way). Max, sum, argmax and the kept mass are per-lane loops, then
// tree reductions over the token's lanes in workgroup memory (one array per reduction, so none
// waits to be reused). Top-k ranks every expert in parallel by counting over the token's scores,
// which the lanes have just stored (a storage barrier makes them visible to each other):
//   rank_k = #{j : u_j > u_k or (u_j = u_k and j < k)}, kept when rank_k < topk,
// the ties-to-the-lower-index rule exactly. No subgroup operations.
// Outputs route, hB, top1: `=`.

override METHOD: u32 = 0u;
override USE_ROUTER: bool = true;
override USE_INTUITION: bool = true;
override LANES: u32 = 32u;

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

const WG: u32 = 256u;
const NEG: f32 = -3.0e38;

var<workgroup> rmax: array<f32, 256>;
var<workgroup> rsum: array<f32, 256>;
var<workgroup> rbest: array<f32, 256>;
var<workgroup> rbestI: array<u32, 256>;
var<workgroup> rmass: array<f32, 256>;

fn sigmoid(v: f32) -> f32 { return 1.0 / (1.0 + exp(-v)); }

// Tree reductions over the LANES lanes of this thread's token (base = its first lane's index).
// With one lane a token is one thread: no reduction and no barrier (LANES is a constant, so the
// compiler drops them; so are the storage barriers, which only order lanes of one token).
fn seg_max(lid: u32, lane: u32, base: u32, v: f32) -> f32 {
  if (LANES == 1u) { return v; }
  rmax[lid] = v;
  workgroupBarrier();
  for (var st = LANES / 2u; st > 0u; st >>= 1u) {
    if (lane < st) { rmax[lid] = max(rmax[lid], rmax[lid + st]); }
    workgroupBarrier();
  }
  return rmax[base];
}

fn seg_sum(lid: u32, lane: u32, base: u32, v: f32) -> f32 {
  if (LANES == 1u) { return v; }
  rsum[lid] = v;
  workgroupBarrier();
  for (var st = LANES / 2u; st > 0u; st >>= 1u) {
    if (lane < st) { rsum[lid] += rsum[lid + st]; }
    workgroupBarrier();
  }
  return rsum[base];
}

fn seg_mass(lid: u32, lane: u32, base: u32, v: f32) -> f32 {
  if (LANES == 1u) { return v; }
  rmass[lid] = v;
  workgroupBarrier();
  for (var st = LANES / 2u; st > 0u; st >>= 1u) {
    if (lane < st) { rmass[lid] += rmass[lid + st]; }
    workgroupBarrier();
  }
  return rmass[base];
}

// Index of the largest v over the token's lanes, ties to the lower index.
fn seg_argmax(lid: u32, lane: u32, base: u32, v: f32, i: u32) -> u32 {
  if (LANES == 1u) { return i; }
  rbest[lid] = v;
  rbestI[lid] = i;
  workgroupBarrier();
  for (var st = LANES / 2u; st > 0u; st >>= 1u) {
    if (lane < st) {
      let o = lid + st;
      if (rbest[o] > rbest[lid] || (rbest[o] == rbest[lid] && rbestI[o] < rbestI[lid])) {
        rbest[lid] = rbest[o];
        rbestI[lid] = rbestI[o];
      }
    }
    workgroupBarrier();
  }
  return rbestI[base];
}

// The dense routing score u_k from p_k (also what top-k ranks).
fn score(t: u32, k: u32, pk: f32, w: f32) -> f32 {
  var u = 0.0;
  if (USE_ROUTER) { u += 32.0 * w * pk; }
  if (USE_INTUITION) { u += 4.0 * (1.0 - w) * s[t * p.E + k]; }
  return u;
}

@compute @workgroup_size(256, 1, 1)
fn adapter_route_forward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
  let lid = lid3.x;
  let lane = lid % LANES;
  let base = lid - lane;
  let t = (wg.x + wg.y * nwg.x) * (WG / LANES) + lid / LANES;
  let valid = t < p.T;
  let pr = t * (p.E + p.rA);
  let ao = pr + p.E;
  let ro = t * 3u * p.E;
  let ho = t * p.rB;
  if (METHOD == 4u) {
    if (valid) {
      for (var r = lane; r < p.rA; r += LANES) { hB[ho + r] = proj[ao + r] * p.scale; }
      if (lane == 0u) { top1[t] = 0u; }
    }
    return;
  }
  // This lane's experts: k = lane + i · LANES < E (none for padding threads past T).
  var kEnd = 0u;
  if (valid) { kEnd = p.E; }
  // Softmax of the router logits: exp(z − max) in the p slot, then divided by the sum.
  var m = NEG;
  for (var k = lane; k < kEnd; k += LANES) { m = max(m, proj[pr + k]); }
  let mx = seg_max(lid, lane, base, m);
  var sm = 0.0;
  for (var k = lane; k < kEnd; k += LANES) {
    let e = exp(proj[pr + k] - mx);
    route[ro + k] = e;
    sm += e;
  }
  let sum = seg_sum(lid, lane, base, sm);
  var bu = NEG;
  var bk = 0xffffffffu;

  if (METHOD >= 2u) {
    // MoLoRA / SiRA: q_e = P_e (SiRA: 0 unless among the 6 largest, ties to the lower index).
    for (var k = lane; k < kEnd; k += LANES) {
      let pe = route[ro + k] / sum;
      route[ro + k] = pe;
      if (pe > bu) { bu = pe; bk = k; }
    }
    let best = seg_argmax(lid, lane, base, bu, bk);
    if (LANES > 1u) { storageBarrier(); }
    for (var k = lane; k < kEnd; k += LANES) {
      let pe = route[ro + k];
      var keep = 1.0;
      if (METHOD == 3u) {
        var above = 0u;
        for (var j = 0u; j < p.E; j++) {
          let pj = route[ro + j];
          if (pj > pe || (pj == pe && j < k)) { above++; }
        }
        if (above >= 6u) { keep = 0.0; }
      }
      route[ro + p.E + k] = keep;
      route[ro + 2u * p.E + k] = pe * keep;
    }
    if (LANES > 1u) { storageBarrier(); }
    if (valid) {
      if (lane == 0u) { top1[t] = best; }
      for (var r = lane; r < p.rA; r += LANES) { hB[ho + r] = proj[ao + r] * route[ro + 2u * p.E + r % 8u]; }
    }
    return;
  }

  let w = sigmoid(100.0 * gates[0]);
  // p, the dense scores u and their argmax (load-balance statistics; lowest k wins in a lane).
  let dense = p.topk >= p.E;
  for (var k = lane; k < kEnd; k += LANES) {
    let pk = route[ro + k] / sum;
    route[ro + k] = pk;
    let u = score(t, k, pk, w);
    if (u > bu) { bu = u; bk = k; }
    if (dense) { route[ro + p.E + k] = pk; }
    // Dense: g = u. Top-k: u waits in the g slot for the ranking.
    route[ro + 2u * p.E + k] = u;
  }
  let best = seg_argmax(lid, lane, base, bu, bk);
  if (valid && lane == 0u) { top1[t] = best; }
  if (!dense) {
    // Rank of u_k among the token's scores (ties to the lower index): kept when rank < topk.
    // Every lane compares the same stored f32 scores, so the ranks are consistent and equal
    // scores are exactly equal. The kept flag waits in the pk slot until the kept mass is known.
    if (LANES > 1u) { storageBarrier(); }
    var kept = 0.0;
    for (var k = lane; k < kEnd; k += LANES) {
      let uk = route[ro + 2u * p.E + k];
      var above = 0u;
      for (var j = 0u; j < p.E; j++) {
        let uj = route[ro + 2u * p.E + j];
        if (uj > uk || (uj == uk && j < k)) { above++; }
      }
      let keep = above < p.topk;
      route[ro + p.E + k] = select(0.0, 1.0, keep);
      if (keep) { kept += route[ro + k]; }
    }
    // (The reduction's barriers also keep every lane's ranking reads before the g writes below.)
    let mass = seg_mass(lid, lane, base, kept);
    for (var k = lane; k < kEnd; k += LANES) {
      var pk = 0.0;
      var g = 0.0;
      if (route[ro + p.E + k] > 0.0) {
        pk = route[ro + k] / mass;
        g = score(t, k, pk, w);
      }
      route[ro + p.E + k] = pk;
      route[ro + 2u * p.E + k] = g;
    }
  }
  // Mix: trex h_j = Σ_i G[i][j] a_i (G = g as r1 x r2, other lanes' g: a storage barrier);
  // mor1e hB_k = a_k g_k.
  if (METHOD == 0u) {
    if (LANES > 1u) { storageBarrier(); }
    if (valid) {
      for (var j = lane; j < p.rB; j += LANES) {
        var h = 0.0;
        for (var i = 0u; i < p.rA; i++) { h += route[ro + 2u * p.E + i * p.rB + j] * proj[ao + i]; }
        hB[ho + j] = h;
      }
    }
  } else {
    for (var k = lane; k < kEnd; k += LANES) { hB[ho + k] = proj[ao + k] * route[ro + 2u * p.E + k]; }
  }
}
