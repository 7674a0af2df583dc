// norm_forward: LayerNorm (default) or RMSNorm (RMS = true) over each row of C channels.
//   LayerNorm: out = (x − mean)·rstd·w + b, rstd = 1/sqrt(var + eps); saves mean and rstd.
//   RMSNorm:   out = x·rstd·w, rstd = 1/sqrt(mean(x²) + eps); saves rstd (mean untouched).
// Reference: src/reference/norm.ts layernormForward / rmsnormForward.
// Work split: one workgroup of 256 threads per row; tree reductions in workgroup memory.
// Outputs out, mean, rstd: `=`.

override RMS: bool = false;

struct Params {
  N: u32,
  C: u32,
  eps: f32,
  _pad: u32,
}

@group(0) @binding(0) var<storage, read_write> out: array<f32>;   // (N, C)
@group(0) @binding(1) var<storage, read_write> mean: array<f32>;  // (N), LayerNorm only
@group(0) @binding(2) var<storage, read_write> rstd: array<f32>;  // (N)
@group(0) @binding(3) var<storage, read> x: array<f32>;           // (N, C)
@group(0) @binding(4) var<storage, read> w: array<f32>;           // (C)
@group(0) @binding(5) var<storage, read> b: array<f32>;           // (C), LayerNorm only
@group(0) @binding(6) var<uniform> p: Params;

const WG: u32 = 256u;
var<workgroup> red: array<f32, 256>;

fn reduce_sum(v: f32, tid: u32) -> f32 {
  red[tid] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (tid < s) { red[tid] += red[tid + s]; }
    workgroupBarrier();
  }
  let total = red[0];
  workgroupBarrier();
  return total;
}

@compute @workgroup_size(256, 1, 1)
fn norm_forward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let row = wg.x + wg.y * 65535u;
  if (row >= p.N) { return; }
  let tid = lid.x;
  let o = row * p.C;
  var m = 0.0;
  if (!RMS) {
    var s = 0.0;
    for (var c = tid; c < p.C; c += WG) { s += x[o + c]; }
    m = reduce_sum(s, tid) / f32(p.C);
  }
  var q = 0.0;
  for (var c = tid; c < p.C; c += WG) { let d = x[o + c] - m; q += d * d; }
  let rs = inverseSqrt(reduce_sum(q, tid) / f32(p.C) + p.eps);
  for (var c = tid; c < p.C; c += WG) {
    var v = (x[o + c] - m) * rs * w[c];
    if (!RMS) { v += b[c]; }
    out[o + c] = v;
  }
  if (tid == 0u) {
    rstd[row] = rs;
    if (!RMS) { mean[row] = m; }
  }
}
