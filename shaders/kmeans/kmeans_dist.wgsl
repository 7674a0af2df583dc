// kmeans_dist: the k-means++ D² update for one new centre j: d = Σ_c (x_c − μ_jc)², summed over
// c in order.
//   MERGE = false: dist = d (the first centre).
//   MERGE = true:  dist = d where d < dist (strictly), else the stored value stays.
// Reference: src/reference/kmeans.ts kmeansDist.
// Work split: one thread per point (64 per workgroup), walking its row; every thread reads the
// same centre element at a time. No workgroup memory or barriers: for a single centre this is
// several times cheaper than kmeans_assign's tiles (bench kmeans_assign, BENCHMARKS.md).
// Output dist: `=` (MERGE: min with the stored value).

override MERGE: bool = false;

struct Params {
  N: u32,
  D: u32,
  j: u32,
  _pad: u32,
}

@group(0) @binding(0) var<storage, read_write> dist: array<f32>;  // (N)
@group(0) @binding(1) var<storage, read> points: array<f32>;      // (N, D)
@group(0) @binding(2) var<storage, read> centroids: array<f32>;   // (≥ j + 1, D)
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(64, 1, 1)
fn kmeans_dist(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i >= p.N) { return; }
  let xo = i * p.D;
  let co = p.j * p.D;
  var acc = 0.0;
  for (var c = 0u; c < p.D; c++) {
    let t = centroids[co + c] - points[xo + c];
    acc += t * t;
  }
  if (MERGE && !(acc < dist[i])) { return; }
  dist[i] = acc;
}
