// norm_backward_weight: dw[c] += Σ_rows dout·norm and (LayerNorm) db[c] += Σ_rows dout.
// Reference: src/reference/norm.ts layernormBackward / rmsnormBackward (the dw, db part).
// No atomics: each column has one owner. Work split: one workgroup per 16 columns; its
// 16 x 16 threads stride over the rows, then reduce 16 partials per column in workgroup memory.
// Outputs dw, db: `+=` (parameter gradients).

override RMS: bool = false;

struct Params {
  N: u32,
  C: u32,
  _pad0: u32,
  _pad1: u32,
}

@group(0) @binding(0) var<storage, read_write> dw: array<f32>;  // (C)
@group(0) @binding(1) var<storage, read_write> db: array<f32>;  // (C), LayerNorm only
@group(0) @binding(2) var<storage, read> dout: array<f32>;      // (N, C)
@group(0) @binding(3) var<storage, read> x: array<f32>;         // (N, C)
@group(0) @binding(4) var<storage, read> mean: array<f32>;      // (N), LayerNorm only
@group(0) @binding(5) var<storage, read> rstd: array<f32>;      // (N)
@group(0) @binding(6) var<uniform> p: Params;

var<workgroup> pw: array<f32, 256>;
var<workgroup> pb: array<f32, 256>;

@compute @workgroup_size(16, 16, 1)
fn norm_backward_weight(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let c = wg.x * 16u + lid.x;
  var sw = 0.0;
  var sb = 0.0;
  if (c < p.C) {
    for (var r = lid.y; r < p.N; r += 16u) {
      var m = 0.0;
      if (!RMS) { m = mean[r]; }
      let g = dout[r * p.C + c];
      sw += g * (x[r * p.C + c] - m) * rstd[r];
      sb += g;
    }
  }
  let i = lid.y * 16u + lid.x;
  pw[i] = sw;
  pb[i] = sb;
  workgroupBarrier();
  for (var s = 8u; s > 0u; s >>= 1u) {
    if (lid.y < s) {
      pw[i] += pw[i + s * 16u];
      pb[i] += pb[i + s * 16u];
    }
    workgroupBarrier();
  }
  if (lid.y == 0u && c < p.C) {
    dw[c] += pw[lid.x];
    if (!RMS) { db[c] += pb[lid.x]; }
  }
}
