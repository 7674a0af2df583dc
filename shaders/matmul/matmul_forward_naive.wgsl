// matmul_forward_naive: the simple baseline that matmul_forward must beat (bench page only).
// C[b][m][n] = Σ_k op(A)[m][k] · op(B)[k][n] (+ bias[n]); one thread per output, no tiling.
// Same bindings, params and overrides as matmul_forward; reference: matmulForward.
// Output C: `=` by default, `+=` with ACCUMULATE.

override TRANS_A: bool = false;
override TRANS_B: bool = false;
override HAS_BIAS: bool = false;
override ACCUMULATE: bool = false;

struct Params {
  M: u32,
  N: u32,
  K: u32,
  batch: u32,
  strideA: u32,
  strideB: u32,
  strideC: u32,
  _pad: u32,
}

@group(0) @binding(0) var<storage, read_write> C: array<f32>;  // (batch, M, N)
@group(0) @binding(1) var<storage, read> A: array<f32>;        // (batch, M, K) or (batch, K, M)
@group(0) @binding(2) var<storage, read> B: array<f32>;        // (batch, K, N) or (batch, N, K)
@group(0) @binding(3) var<storage, read> bias: array<f32>;     // (N)
@group(0) @binding(4) var<uniform> p: Params;

@compute @workgroup_size(16, 16, 1)
fn matmul_forward_naive(@builtin(global_invocation_id) gid: vec3<u32>) {
  let n = gid.x;
  let m = gid.y;
  let b = gid.z;
  if (m >= p.M || n >= p.N) { return; }
  var acc = 0.0;
  for (var k = 0u; k < p.K; k++) {
    var a: f32; var bv: f32;
    if (TRANS_A) { a = A[b * p.strideA + k * p.M + m]; } else { a = A[b * p.strideA + m * p.K + k]; }
    if (TRANS_B) { bv = B[b * p.strideB + n * p.K + k]; } else { bv = B[b * p.strideB + k * p.N + n]; }
    acc += a * bv;
  }
  if (HAS_BIAS) { acc += bias[n]; }
  let idx = b * p.strideC + m * p.N + n;
  if (ACCUMULATE) { C[idx] += acc; } else { C[idx] = acc; }
}
