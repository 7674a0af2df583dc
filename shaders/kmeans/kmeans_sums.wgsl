// kmeans_sums: stage 1 of the centroid update, with no float atomics: for one chunk of P
// points, the sum of the points assigned to each centroid and their count.
//   psum[c, j, :] = Σ_{i in chunk c, assign[i] = j} points[i, :];  pcount[c, j] = that count.
// Reference: src/reference/kmeans.ts kmeansUpdate (the sums; kmeans_update divides).
// Work split: workgroup (chunk c = wg.x; wg.y = g·tiles + t: centroid group g of KG, dimension
// tile t of 64). Thread tid owns dimension t·64 + tid and a column of KG running sums in
// workgroup memory (no other thread touches it: no barriers), walking the chunk's points in
// index order, so a cluster's sum does not depend on its index. Threads tid < KG of tile 0 also
// count cluster g·KG + tid. Points assigned 0xffffffff (none) are skipped.
// Outputs psum, pcount: `=` (only the entries of centroids < K).

struct Params {
  N: u32,
  D: u32,
  K: u32,
  P: u32,       // points per chunk
  tiles: u32,   // ceil(D / 64)
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

@group(0) @binding(0) var<storage, read_write> psum: array<f32>;    // (C, K, D), C = ceil(N / P)
@group(0) @binding(1) var<storage, read_write> pcount: array<f32>;  // (C, K)
@group(0) @binding(2) var<storage, read> points: array<f32>;        // (N, D)
@group(0) @binding(3) var<storage, read> assign: array<u32>;        // (N)
@group(0) @binding(4) var<uniform> p: Params;

const TD: u32 = 64u;  // dimensions per workgroup (= threads)
const KG: u32 = 32u;  // centroids per group: acc is KG·TD floats = 8 KiB
var<workgroup> acc: array<f32, 2048>;  // (KG, TD)

@compute @workgroup_size(64, 1, 1)
fn kmeans_sums(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let tid = lid.x;
  let c = wg.x;
  let t = wg.y % p.tiles;
  let g0 = (wg.y / p.tiles) * KG;
  let dim = t * TD + tid;
  for (var j = 0u; j < KG; j++) { acc[j * TD + tid] = 0.0; }
  var cnt = 0.0;
  let start = c * p.P;
  let end = min(start + p.P, p.N);
  for (var i = start; i < end; i++) {
    let a = assign[i];
    if (a >= g0 && a - g0 < KG) {
      if (dim < p.D) { acc[(a - g0) * TD + tid] += points[i * p.D + dim]; }
      if (a - g0 == tid) { cnt += 1.0; }
    }
  }
  if (dim < p.D) {
    for (var j = 0u; j < KG && g0 + j < p.K; j++) {
      psum[(c * p.K + g0 + j) * p.D + dim] = acc[j * TD + tid];
    }
  }
  if (t == 0u && tid < KG && g0 + tid < p.K) { pcount[c * p.K + g0 + tid] = cnt; }
}
