// mean_pool_forward: sentence embeddings from the last hidden states of a padded batch, as
// sentence-transformers' mean pooling (+ Normalize):
//   out[b,:] = Σ_t mask[b,t]·x[b,t,:] / max(Σ_t mask[b,t], 1e-9)
//   with NORMALIZE: out[b,:] /= max(‖out[b,:]‖₂, 1e-12)
// mask is 1 for a real token and 0 for padding (u32; any non-zero value counts as 1).
// Reference: src/reference/pool.ts meanPoolForward. Launcher: src/ops/pool.ts.
// Work split: one workgroup of 64 threads per batch entry; thread tid owns channels tid,
// tid + 64, …, summing over the T rows; the squared norm is a tree reduction in workgroup memory.
// Output out: `=`.

override NORMALIZE: bool = true;

struct Params {
  B: u32,
  T: u32,
  C: u32,
  _pad: u32,
}

@group(0) @binding(0) var<storage, read_write> out: array<f32>;  // (B, C)
@group(0) @binding(1) var<storage, read> x: array<f32>;          // (B, T, C)
@group(0) @binding(2) var<storage, read> mask: array<u32>;       // (B, T)
@group(0) @binding(3) var<uniform> p: Params;

const WG: u32 = 64u;
var<workgroup> red: array<f32, 64>;

@compute @workgroup_size(64, 1, 1)
fn mean_pool_forward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let b = wg.x + wg.y * 65535u;
  if (b >= p.B) { return; }
  let tid = lid.x;
  var count = 0.0;
  for (var t = 0u; t < p.T; t++) {
    if (mask[b * p.T + t] != 0u) { count += 1.0; }
  }
  let inv = 1.0 / max(count, 1e-9);
  var sq = 0.0;
  for (var c = tid; c < p.C; c += WG) {
    var s = 0.0;
    for (var t = 0u; t < p.T; t++) {
      if (mask[b * p.T + t] != 0u) { s += x[(b * p.T + t) * p.C + c]; }
    }
    s *= inv;
    out[b * p.C + c] = s;
    sq += s * s;
  }
  if (NORMALIZE) {
    red[tid] = sq;
    workgroupBarrier();
    for (var k = WG / 2u; k > 0u; k >>= 1u) {
      if (tid < k) { red[tid] += red[tid + k]; }
      workgroupBarrier();
    }
    let scale = 1.0 / max(sqrt(red[0]), 1e-12);
    for (var c = tid; c < p.C; c += WG) { out[b * p.C + c] *= scale; }
  }
}
