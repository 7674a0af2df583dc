// matmul_skinny_scalar: matmul_skinny for any shape: the same work split, partial sums and
// reduction, with A and B bound as arrays of f32 and every load bounds-checked (elements past K or
// N read 0). The launcher uses it when matmul_skinny's vec4 views do not fit: K % 4 != 0, N % 4 != 0
// without TRANS_B, or a batch stride that is not a multiple of 4. Reference:
// src/reference/matmul.ts matmulForward. Launcher: src/ops/matmul.ts. Both kernels include
// matmul_skinny_body.wgsl; only the bindings of A and B and the three load helpers differ. See
// matmul_skinny.wgsl for the work split, KSPLIT and ROWS. Output C: `=` by default, `+=` with
// ACCUMULATE.

@group(0) @binding(1) var<storage, read> A: array<f32>;           // (batch, M, K)
@group(0) @binding(2) var<storage, read> B: array<f32>;           // (batch, K, N) or (batch, N, K) with TRANS_B

fn ldA(base: u32, m: u32, k: u32) -> f32 {
  if (k >= p.K) { return 0.0; }
  return A[base + m * p.K + k];
}

// Elements 4q..4q+3 of row m of A (batch base `base`, in elements); 0 past K.
fn loadA4(base: u32, m: u32, q: u32) -> vec4<f32> {
  let k = 4u * q;
  return vec4<f32>(ldA(base, m, k), ldA(base, m, k + 1u), ldA(base, m, k + 2u), ldA(base, m, k + 3u));
}

fn ldBt(base: u32, n: u32, k: u32) -> f32 {
  if (k >= p.K) { return 0.0; }
  return B[base + n * p.K + k];
}

// TRANS_B: elements 4q..4q+3 of row n of B (op(B)[4q..4q+3][n]); 0 past K.
fn loadBt4(base: u32, n: u32, q: u32) -> vec4<f32> {
  let k = 4u * q;
  return vec4<f32>(ldBt(base, n, k), ldBt(base, n, k + 1u), ldBt(base, n, k + 2u), ldBt(base, n, k + 3u));
}

fn ldBn(base: u32, k: u32, n: u32) -> f32 {
  if (k >= p.K || n >= p.N) { return 0.0; }
  return B[base + k * p.N + n];
}

// !TRANS_B: columns 4v..4v+3 of row k of B; 0 past K or N.
fn loadBn4(base: u32, k: u32, v: u32) -> vec4<f32> {
  let n = 4u * v;
  return vec4<f32>(ldBn(base, k, n), ldBn(base, k, n + 1u), ldBn(base, k, n + 2u), ldBn(base, k, n + 3u));
}

//#include "matmul/matmul_skinny_body"

@compute @workgroup_size(64, 1, 1)
fn matmul_skinny_scalar(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  skinny(wg, li);
}
