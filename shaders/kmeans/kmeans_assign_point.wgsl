// kmeans_assign_point: the one-workgroup-per-point variant of kmeans_assign (same bindings,
// params, MERGE and results), kept as the baseline on the bench page; the tiled kmeans_assign
// was 7-9x faster there (BENCHMARKS.md). Nearest centroid among [k0, k1) of every point by
// squared Euclidean distance Σ_c (x_c − μ_c)², ties to the lower centroid index. (Its distance
// sums depend on SLICES: exact ties across passes need the same SLICES.)
//   MERGE = false: dist = that distance, assign = that index (the Lloyd assignment step).
//   MERGE = true:  a centroid of [k0, k1) replaces the stored (dist, assign) only when strictly
//                  nearer (the stored one came from lower indices): a D² merge as in k-means++.
//   changed = 1 where assign changed, else 0 (summed by reduce_* into the changed count).
// Reference: src/reference/kmeans.ts kmeansAssign.
// Work split: one workgroup of 64 threads per point. SLICES threads share one centroid, each
// summing every SLICES-th dimension (consecutive threads read consecutive dimensions); the
// 64 / SLICES centroid lanes walk the range in steps. A tree over the slices gives each
// distance; a tree over the lanes gives the argmin (ties: lower index).
// Outputs dist, assign, changed: `=` (MERGE: dist, assign keep or replace their stored values).

override SLICES: u32 = 8u;  // threads per centroid: a power of two, 1 to 64
override MERGE: bool = false;

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

const WG: u32 = 64u;
const BIG: f32 = 3.4e38;  // above any distance of accepted points
var<workgroup> redD: array<f32, 64>;
var<workgroup> redI: array<u32, 64>;

@compute @workgroup_size(64, 1, 1)
fn kmeans_assign_point(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = wg.x + wg.y * 65535u;
  if (i >= p.N) { return; }
  let tid = lid.x;
  let s = tid % SLICES;
  let lane = tid / SLICES;
  let lanes = WG / SLICES;
  let xo = i * p.D;
  var bestD = BIG;
  var bestI = 0xffffffffu;
  for (var j0 = p.k0; j0 < p.k1; j0 += lanes) {
    let j = j0 + lane;
    var acc = 0.0;
    if (j < p.k1) {
      let co = j * p.D;
      for (var c = s; c < p.D; c += SLICES) {
        let t = points[xo + c] - centroids[co + c];
        acc += t * t;
      }
    }
    redD[tid] = acc;
    workgroupBarrier();
    for (var h = SLICES / 2u; h > 0u; h >>= 1u) {
      if (s < h) { redD[tid] += redD[tid + h]; }
      workgroupBarrier();
    }
    // Each lane sees its centroids in increasing order: strict < keeps the lower index.
    if (s == 0u && j < p.k1 && redD[tid] < bestD) {
      bestD = redD[tid];
      bestI = j;
    }
    workgroupBarrier();
  }
  redD[tid] = bestD;
  redI[tid] = bestI;
  workgroupBarrier();
  for (var h = WG / 2u; h > 0u; h >>= 1u) {
    if (tid < h) {
      let od = redD[tid + h];
      let oi = redI[tid + h];
      if (od < redD[tid] || (od == redD[tid] && oi < redI[tid])) {
        redD[tid] = od;
        redI[tid] = oi;
      }
    }
    workgroupBarrier();
  }
  if (tid == 0u) {
    var d = redD[0];
    var a = redI[0];
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
