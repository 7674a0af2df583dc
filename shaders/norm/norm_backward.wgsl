// norm_backward: dx of LayerNorm (default) or RMSNorm (RMS = true), per row.
//   norm = (x − mean)·rstd (RMS: x·rstd), dn = dout·w
//   LayerNorm: dx = rstd·(dn − mean(dn) − norm·mean(dn·norm))
//   RMSNorm:   dx = rstd·(dn − norm·mean(dn·norm))
// Reference: src/reference/norm.ts layernormBackward / rmsnormBackward (the dx part; the
// weight and bias gradients are norm_backward_weight's).
// Work split: LANES threads per row as in norm_forward (256 / LANES rows per workgroup; LANES = 1
// on a CPU fallback adapter: no barrier). Output dx: `=`, `+=` with ACCUMULATE (into the residual
// stream's gradient).

override RMS: bool = false;
override ACCUMULATE: bool = false;
override LANES: u32 = 256u;

struct Params {
  N: u32,
  C: u32,
  _pad0: u32,
  _pad1: u32,
}

@group(0) @binding(0) var<storage, read_write> dx: array<f32>;  // (N, C)
@group(0) @binding(1) var<storage, read> dout: array<f32>;      // (N, C)
@group(0) @binding(2) var<storage, read> x: array<f32>;         // (N, C)
@group(0) @binding(3) var<storage, read> w: array<f32>;         // (C)
@group(0) @binding(4) var<storage, read> mean: array<f32>;      // (N), LayerNorm only
@group(0) @binding(5) var<storage, read> rstd: array<f32>;      // (N)
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
fn norm_backward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let tid = lid.x;
  let lane = tid % LANES;
  let row = (wg.x + wg.y * 65535u) * (WG / LANES) + tid / LANES;
  // Rows past N still take part in the reductions' barriers; they read and write nothing.
  let valid = row < p.N;
  let C = select(0u, p.C, valid);
  let o = row * p.C;
  var m = 0.0;
  var rs = 0.0;
  if (valid) {
    if (!RMS) { m = mean[row]; }
    rs = rstd[row];
  }
  var sdn = 0.0;
  var sdnn = 0.0;
  for (var c = lane; c < C; c += LANES) {
    let dn = dout[o + c] * w[c];
    sdn += dn;
    sdnn += dn * (x[o + c] - m) * rs;
  }
  var mdn = 0.0;
  if (!RMS) { mdn = reduce_sum(sdn, tid, lane) / f32(p.C); }
  let mdnn = reduce_sum(sdnn, tid, lane) / f32(p.C);
  for (var c = lane; c < C; c += LANES) {
    let n = (x[o + c] - m) * rs;
    let g = rs * (dout[o + c] * w[c] - mdn - n * mdnn);
    if (ACCUMULATE) { dx[o + c] += g; } else { dx[o + c] = g; }
  }
}
