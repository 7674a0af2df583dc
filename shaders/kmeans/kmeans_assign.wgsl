// kmeans_assign: nearest centroid among [k0, k1) of every point by squared Euclidean distance
// Σ_c (x_c − μ_c)², summed over c in order (so a distance's bits do not depend on CTX or on
// which pass computes it), ties to the lower centroid index.
//   MERGE = false: dist = that distance, assign = that index (the Lloyd assignment step).
//   MERGE = true:  a centroid of [k0, k1) replaces the stored (dist, assign) only when strictly
//                  nearer (the stored one came from lower indices): a D² merge as in k-means++.
//   changed = 1 where assign changed, else 0 (summed by reduce_* into the changed count).
// Reference: src/reference/kmeans.ts kmeansAssign.
// Work split: one workgroup per tile of TP points (TP = 512 / CTX); 64 threads as CTX centroid
// lanes by 64 / CTX point lanes, each thread owning 8 points x 4 centroids (8 vec4
// accumulators). For each tile of 4·CTX centroids, DS-deep slabs of the points and centroids are
// staged in workgroup memory (DS = 2048 / TP), so one barrier pair covers DS dimensions of 8
// vec4 (sub, FMA) per 3 loads. Each thread keeps its 8 points' best (distance, index) over its
// centroids; a last pass over workgroup memory reduces the CTX lanes of each point (the
// workgroup reduction per point, ties to the lower index). Launchers pick CTX by the range
// size (4·CTX ≥ k1 − k0, up to 8). For the k-means++ D² update of a single centre the driver
// uses kmeans_dist, which is cheaper there; MERGE serves merging a range of new centroids.
// (kmeans_assign_point: the same results with one workgroup per point, the slower baseline.)
// Outputs dist, assign, changed: `=` (MERGE: dist, assign keep or replace their stored values).

override CTX: u32 = 8u;  // centroid lanes: 1, 2, 4 or 8
override MERGE: bool = false;

const THREADS: u32 = 64u;
override TP: u32 = 512u / CTX;     // points per tile (8 per thread)
override TC: u32 = 4u * CTX;       // centroids per tile (4 per thread)
override DS: u32 = 2048u / TP;     // dimensions per slab
const BIG: f32 = 3.4e38;           // above any distance of accepted points

struct Params {
  N: u32,
  D: u32,
  k0: u32,
  k1: u32,
}

@group(0) @binding(0) var<storage, read_write> dist: array<f32>;     // (N)
@group(0) @binding(1) var<storage, read_write> assign: array<u32>;   // (N)
@group(0) @binding(2) var<storage, read_write> changed: array<f32>;  // (N)
@group(0) @binding(3) var<storage, read> points: array<f32>;         // (N, D)
@group(0) @binding(4) var<storage, read> centroids: array<f32>;      // (≥ k1, D)
@group(0) @binding(5) var<uniform> p: Params;

var<workgroup> Xs: array<vec4<f32>, 512>;  // [DS][TP / 4]: point pt, dim dd at dd·TP/4 + pt/4; later best distances
var<workgroup> Cs: array<vec4<f32>, 256>;  // [DS][CTX]: centroid ct, dim dd at dd·CTX + ct/4
var<workgroup> Ri: array<u32, 512>;        // best index of (point, lane)

@compute @workgroup_size(64, 1, 1)
fn kmeans_assign(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let p0 = (wg.x + wg.y * 65535u) * TP;
  let cx = li % CTX;
  let py = li / CTX;
  var bestD: array<f32, 8>;
  var bestI: array<u32, 8>;
  for (var i = 0u; i < 8u; i++) { bestD[i] = BIG; bestI[i] = 0xffffffffu; }

  for (var c0 = p.k0; c0 < p.k1; c0 += TC) {
    var acc: array<vec4<f32>, 8>;
    for (var i = 0u; i < 8u; i++) { acc[i] = vec4<f32>(0.0); }
    for (var d0 = 0u; d0 < p.D; d0 += DS) {
      // Stage the slab; neighbouring threads read neighbouring dimensions. Out of range: 0.
      for (var e = li; e < TP * DS; e += THREADS) {
        let pt = e / DS;
        let dd = e % DS;
        var v = 0.0;
        if (p0 + pt < p.N && d0 + dd < p.D) { v = points[(p0 + pt) * p.D + d0 + dd]; }
        Xs[dd * (TP / 4u) + pt / 4u][pt % 4u] = v;
      }
      for (var e = li; e < TC * DS; e += THREADS) {
        let ct = e / DS;
        let dd = e % DS;
        var v = 0.0;
        if (c0 + ct < p.k1 && d0 + dd < p.D) { v = centroids[(c0 + ct) * p.D + d0 + dd]; }
        Cs[dd * CTX + ct / 4u][ct % 4u] = v;
      }
      workgroupBarrier();
      for (var dd = 0u; dd < DS; dd++) {
        let xa = Xs[dd * (TP / 4u) + py * 2u];
        let xb = Xs[dd * (TP / 4u) + py * 2u + 1u];
        let c = Cs[dd * CTX + cx];
        var t = c - xa.x; acc[0] += t * t;
        t = c - xa.y; acc[1] += t * t;
        t = c - xa.z; acc[2] += t * t;
        t = c - xa.w; acc[3] += t * t;
        t = c - xb.x; acc[4] += t * t;
        t = c - xb.y; acc[5] += t * t;
        t = c - xb.z; acc[6] += t * t;
        t = c - xb.w; acc[7] += t * t;
      }
      workgroupBarrier();
    }
    // This thread's centroids in increasing order: strict < keeps the lower index.
    for (var i = 0u; i < 8u; i++) {
      for (var q = 0u; q < 4u; q++) {
        let j = c0 + cx * 4u + q;
        if (j < p.k1 && acc[i][q] < bestD[i]) {
          bestD[i] = acc[i][q];
          bestI[i] = j;
        }
      }
    }
  }

  // Reduce the CTX lanes of each point: (distance, index) pairs in workgroup memory.
  for (var i = 0u; i < 8u; i++) {
    let slot = (py * 8u + i) * CTX + cx;
    Xs[slot / 4u][slot % 4u] = bestD[i];
    Ri[slot] = bestI[i];
  }
  workgroupBarrier();
  for (var pl = li; pl < TP; pl += THREADS) {
    let i = p0 + pl;
    if (i >= p.N) { break; }
    var d = BIG;
    var a = 0xffffffffu;
    for (var l = 0u; l < CTX; l++) {
      let slot = pl * CTX + l;
      let od = Xs[slot / 4u][slot % 4u];
      let oi = Ri[slot];
      if (od < d || (od == d && oi < a)) {
        d = od;
        a = oi;
      }
    }
    let old = assign[i];
    if (MERGE && !(d < dist[i])) {
      d = dist[i];
      a = old;
    }
    dist[i] = d;
    assign[i] = a;
    changed[i] = select(0.0, 1.0, a != old);
  }
}
