// norm_forward: LayerNorm (default) or RMSNorm (RMS = true) over each row of C channels.
//   LayerNorm: out = (x − mean)·rstd·w + b, rstd = 1/sqrt(var + eps); saves mean and rstd.
//   RMSNorm:   out = x·rstd·w, rstd = 1/sqrt(mean(x²) + eps); saves rstd (mean untouched).
// Reference: src/reference/norm.ts layernormForward / rmsnormForward.
// Work split: LANES threads per row (a power of two, 1..256), so a workgroup of 256 threads
// takes 256 / LANES rows; a row's lanes reduce by a tree in workgroup memory. LANES = 1 (a CPU
// fallback adapter, see normLanes in src/ops/norm.ts): one thread per row, plain loops, no barrier.
// Outputs out, mean, rstd: `=`.

override RMS: bool = false;
override LANES: u32 = 256u;

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

/** The sum of v over this row's LANES lanes (every lane gets it). Uniform control flow only. */
fn reduce_sum(v: f32, tid: u32, lane: u32) -> f32 {
  if (LANES == 1u) { return v; }
  red[tid] = v;
  workgroupBarrier();
  for (var s = LANES / 2u; s > 0u; s >>= 1u) {
    if (lane < s) { red[tid] += red[tid + s]; }
    workgroupBarrier();
  }
  let total = red[tid - lane];
  workgroupBarrier();
  return total;
}

@compute @workgroup_size(256, 1, 1)
fn norm_forward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let tid = lid.x;
  let lane = tid % LANES;
  let row = (wg.x + wg.y * 65535u) * (WG / LANES) + tid / LANES;
  // Rows past N still take part in the reductions' barriers; they read and write nothing.
  let C = select(0u, p.C, row < p.N);
  let o = row * p.C;
  var m = 0.0;
  if (!RMS) {
    var s = 0.0;
    for (var c = lane; c < C; c += LANES) { s += x[o + c]; }
    m = reduce_sum(s, tid, lane) / f32(p.C);
  }
  var q = 0.0;
  for (var c = lane; c < C; c += LANES) { let d = x[o + c] - m; q += d * d; }
  let rs = inverseSqrt(reduce_sum(q, tid, lane) / f32(p.C) + p.eps);
  for (var c = lane; c < C; c += LANES) {
    var v = (x[o + c] - m) * rs * w[c];
    if (!RMS) { v += b[c]; }
    out[o + c] = v;
  }
  if (lane == 0u && row < p.N) {
    rstd[row] = rs;
    if (!RMS) { mean[row] = m; }
  }
}
