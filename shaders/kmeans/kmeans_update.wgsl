// kmeans_update: stage 2 of the centroid update: centroid = Σ chunk sums / Σ chunk counts; an
// empty cluster (count 0) keeps its centroid.
// Reference: src/reference/kmeans.ts kmeansUpdate (sums from kmeans_sums).
// Work split: one thread per centroid element (j, d), summing the C chunks in order.
// Output centroids: `=` where the cluster has points, untouched otherwise.

struct Params {
  K: u32,
  D: u32,
  C: u32,  // chunks
  _pad: u32,
}

@group(0) @binding(0) var<storage, read_write> centroids: array<f32>;  // (K, D)
@group(0) @binding(1) var<storage, read> psum: array<f32>;             // (C, K, D)
@group(0) @binding(2) var<storage, read> pcount: array<f32>;           // (C, K)
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(64, 1, 1)
fn kmeans_update(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let e = gid.x + gid.y * nwg.x * 64u;
  if (e >= p.K * p.D) { return; }
  let j = e / p.D;
  let stride = p.K * p.D;
  var s = 0.0;
  var n = 0.0;
  for (var c = 0u; c < p.C; c++) {
    s += psum[c * stride + e];
    n += pcount[c * p.K + j];
  }
  if (n > 0.0) { centroids[e] = s / n; }
}
