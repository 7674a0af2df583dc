// matmul_forward: C[b] (=|+=) op(A[b]) · op(B[b]) (+ bias), batched, any M, N, K.
// Reference: src/reference/matmul.ts matmulForward. Launcher: src/ops/matmul.ts.
// op(A) is A (stored M x K) or, with TRANS_A, Aᵀ (A stored K x M); likewise op(B) is B
// (stored K x N) or, with TRANS_B, Bᵀ (B stored N x K). A batch stride of 0 broadcasts.
// Work split: one workgroup per 64 x 64 tile of C and batch entry (grid ceil(N/64),
// ceil(M/64), batch); 8 x 8 threads, each owning an 8 x 8 block of outputs (16 vec4
// accumulators). The K loop stages 32-deep slabs of op(A) and op(B) in workgroup memory
// (k-major vec4; 16 KiB), so a barrier pair covers 32 k-steps of 16 vec4 FMAs per 4 loads.
// (It replaced a 16 x 16-thread, 4 x 4-per-thread, 16-deep version that was 1.1-1.6x slower
// on the bench page; see BENCHMARKS.md.) Loads are bounds-checked, so the edges of
// odd shapes read zeros and out-of-range outputs are never written.
// Output C: `=` by default, `+=` with ACCUMULATE (parameter gradients).

override TRANS_A: bool = false;
override TRANS_B: bool = false;
override HAS_BIAS: bool = false;
override ACCUMULATE: bool = false;

const BM: u32 = 64u;
const BN: u32 = 64u;
const BK: u32 = 32u;
const THREADS: u32 = 64u;

struct Params {
  M: u32,
  N: u32,
  K: u32,
  batch: u32,
  strideA: u32,  // elements between batch entries of A (0 = shared)
  strideB: u32,
  strideC: u32,
  _pad: u32,
}

@group(0) @binding(0) var<storage, read_write> C: array<f32>;  // (batch, M, N)
@group(0) @binding(1) var<storage, read> A: array<f32>;        // (batch, M, K) or (batch, K, M) with TRANS_A
@group(0) @binding(2) var<storage, read> B: array<f32>;        // (batch, K, N) or (batch, N, K) with TRANS_B
@group(0) @binding(3) var<storage, read> bias: array<f32>;     // (N), read only with HAS_BIAS
@group(0) @binding(4) var<uniform> p: Params;

var<workgroup> As: array<vec4<f32>, 512>;  // [BK][BM / 4]: op(A)[m][k] at k * BM + m
var<workgroup> Bs: array<vec4<f32>, 512>;  // [BK][BN / 4]: op(B)[k][n] at k * BN + n

fn loadA(base: u32, m: u32, k: u32) -> f32 {
  if (m >= p.M || k >= p.K) { return 0.0; }
  if (TRANS_A) { return A[base + k * p.M + m]; }
  return A[base + m * p.K + k];
}

fn loadB(base: u32, k: u32, n: u32) -> f32 {
  if (k >= p.K || n >= p.N) { return 0.0; }
  if (TRANS_B) { return B[base + n * p.K + k]; }
  return B[base + k * p.N + n];
}

@compute @workgroup_size(8, 8, 1)
fn matmul_forward(@builtin(workgroup_id) wg: vec3<u32>,
                  @builtin(local_invocation_id) lid: vec3<u32>,
                  @builtin(local_invocation_index) li: u32) {
  let b = wg.z;
  let m0 = wg.y * BM;
  let n0 = wg.x * BN;
  let baseA = b * p.strideA;
  let baseB = b * p.strideB;
  var acc: array<vec4<f32>, 16>;  // row i: acc[2i] columns 0..3, acc[2i+1] columns 4..7
  for (var i = 0u; i < 16u; i++) { acc[i] = vec4<f32>(0.0); }

  for (var k0 = 0u; k0 < p.K; k0 += BK) {
    // Stage BK x BM of op(A) and BK x BN of op(B): 2048 values each, 32 per thread. The
    // element order follows the stored layout so that neighbouring threads read neighbouring
    // addresses.
    for (var r = 0u; r < 32u; r++) {
      let e = li + r * THREADS;
      var mA: u32; var kA: u32;
      if (TRANS_A) { kA = e / BM; mA = e % BM; } else { mA = e / BK; kA = e % BK; }
      As[kA * (BM / 4u) + mA / 4u][mA % 4u] = loadA(baseA, m0 + mA, k0 + kA);
      var nB: u32; var kB: u32;
      if (TRANS_B) { nB = e / BK; kB = e % BK; } else { kB = e / BN; nB = e % BN; }
      Bs[kB * (BN / 4u) + nB / 4u][nB % 4u] = loadB(baseB, k0 + kB, n0 + nB);
    }
    workgroupBarrier();
    for (var k = 0u; k < BK; k++) {
      let a0 = As[k * (BM / 4u) + lid.y * 2u];
      let a1 = As[k * (BM / 4u) + lid.y * 2u + 1u];
      let b0 = Bs[k * (BN / 4u) + lid.x * 2u];
      let b1 = Bs[k * (BN / 4u) + lid.x * 2u + 1u];
      acc[0] += a0.x * b0; acc[1] += a0.x * b1;
      acc[2] += a0.y * b0; acc[3] += a0.y * b1;
      acc[4] += a0.z * b0; acc[5] += a0.z * b1;
      acc[6] += a0.w * b0; acc[7] += a0.w * b1;
      acc[8] += a1.x * b0; acc[9] += a1.x * b1;
      acc[10] += a1.y * b0; acc[11] += a1.y * b1;
      acc[12] += a1.z * b0; acc[13] += a1.z * b1;
      acc[14] += a1.w * b0; acc[15] += a1.w * b1;
    }
    workgroupBarrier();
  }

  let baseC = b * p.strideC;
  for (var i = 0u; i < 8u; i++) {
    let m = m0 + lid.y * 8u + i;
    if (m >= p.M) { break; }
    for (var j = 0u; j < 8u; j++) {
      let n = n0 + lid.x * 8u + j;
      if (n >= p.N) { break; }
      var v = acc[2u * i + j / 4u][j % 4u];
      if (HAS_BIAS) { v += bias[n]; }
      let idx = baseC + m * p.N + n;
      if (ACCUMULATE) { C[idx] += v; } else { C[idx] = v; }
    }
  }
}
