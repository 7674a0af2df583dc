// matmul_skinny: C[b] (=|+=) A[b] · op(B[b]) (+ bias) for a few rows (M ≤ 16: KV-cache decoding,
// short prompts, evaluation), batched. Reference: src/reference/matmul.ts matmulForward.
// Launcher: src/ops/matmul.ts, which picks it for small M (matmul_forward's 64 x 64 tiles would
// waste 63 of 64 rows at M = 1) and keeps the tiled kernel for TRANS_A and larger M.
// A is stored M x K; op(B) is B (stored K x N) or, with TRANS_B, Bᵀ (B stored N x K: nn.Linear,
// the Llama case). A batch stride of 0 broadcasts. Output C: `=` by default, `+=` with ACCUMULATE.
// With M ≤ 16 each weight serves at most 16 rows, so the kernel is bound by reading B once: every
// B element is loaded by exactly one thread. One workgroup of 64 threads per block of BN columns
// (all M rows) and batch entry: grid ceil(N / BN), 1, batch. G = 64 / KSPLIT column groups of 4
// columns (BN = 4G); the KSPLIT threads of a group split K between them, each keeping ROWS x 4
// partial sums in registers (one vec4 per row), and one pass through workgroup memory adds them.
//   TRANS_B: a group's KSPLIT threads are consecutive; thread l reads vec4 l, l + KSPLIT, ... of
//     the group's four B rows and of the A rows, so consecutive threads read consecutive 16 bytes
//     of a row (GPU default KSPLIT = 16: BN = 16); 4 dot products per A vec4.
//   otherwise: the group's columns are one vec4 of a B row; the G groups are consecutive threads
//     reading consecutive vec4 of B rows 4q..4q+3, and K-slice l takes q = l, l + KSPLIT, ...
//     (GPU default KSPLIT = 8: BN = 32, 128 contiguous bytes per row); 4 vec4 FMAs per A vec4.
// KSPLIT = 1 (the launcher's choice on SwiftShader) needs no workgroup memory and no barrier: each
// thread walks all of K for its columns. SwiftShader pays per workgroup for workgroup memory in
// proportion to its size (0.6-1 ms per 64-thread workgroup for 16 KiB, 20 µs with none), which
// the split kernel would pay many times over at M = 1 (BENCHMARKS.md, skinny-M); RED sizes the
// array to what KSPLIT needs.
// Vec4 loads: A and B are bound as arrays of vec4, so the launcher sends only K % 4 == 0 (and
// N % 4 == 0 without TRANS_B) with strides that are multiples of 4; matmul_skinny_scalar is this
// kernel with bounds-checked scalar loads for any shape. Both include matmul_skinny_body.wgsl.
// ROWS (1, 2, 4, 8 or 16, at least M) sizes the loops; rows ≥ M re-read row M − 1 and are not
// written. Columns ≥ N re-read the last column and are not written.

@group(0) @binding(1) var<storage, read> A: array<vec4<f32>>;     // (batch, M, K)
@group(0) @binding(2) var<storage, read> B: array<vec4<f32>>;     // (batch, K, N) or (batch, N, K) with TRANS_B

// Elements 4q..4q+3 of row m of A (batch base `base`, in elements).
fn loadA4(base: u32, m: u32, q: u32) -> vec4<f32> {
  return A[(base + m * p.K) / 4u + q];
}

// TRANS_B: elements 4q..4q+3 of row n of B (op(B)[4q..4q+3][n]).
fn loadBt4(base: u32, n: u32, q: u32) -> vec4<f32> {
  return B[(base + n * p.K) / 4u + q];
}

// !TRANS_B: columns 4v..4v+3 of row k of B.
fn loadBn4(base: u32, k: u32, v: u32) -> vec4<f32> {
  return B[(base + k * p.N) / 4u + v];
}

//#include "matmul/matmul_skinny_body"

@compute @workgroup_size(64, 1, 1)
fn matmul_skinny(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  skinny(wg, li);
}
