// copy_rows: copies a block of columns from rows of one tensor into rows of another, the
// reshapes the attention layout needs: K and V columns of GPT-2's fused qkv output (or Llama's
// rotated k and v) into a KV cache at rows r0.., and any strided (B, T, width) slice.
//   out[(b·outRows + outR0 + t)·outS + outO + c] = x[(b·inRows + inR0 + t)·inS + inO + c],  c < width
// The forward reads rows 0..T of each batch entry (inRows = T, inR0 = 0); the backward is the
// same copy with the two layouts swapped (it gathers the gradient back out of the cache rows).
// Reference: src/reference/copy.ts copyRows / copyRowsBackward. One thread per copied element.
// Output: `=`.

struct Params {
  B: u32,
  T: u32,
  width: u32,
  inS: u32,
  inO: u32,
  inRows: u32,
  inR0: u32,
  outRows: u32,
  outR0: u32,
  outS: u32,
  outO: u32,
  _pad: u32,
}

@group(0) @binding(0) var<storage, read_write> out: array<f32>;  // rows of outS, outRows per batch
@group(0) @binding(1) var<storage, read> x: array<f32>;          // rows of inS, inRows per batch
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(64, 1, 1)
fn copy_rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i >= p.B * p.T * p.width) { return; }
  let c = i % p.width;
  let row = i / p.width;  // b·T + t
  let b = row / p.T;
  let t = row % p.T;
  out[(b * p.outRows + p.outR0 + t) * p.outS + p.outO + c] = x[(b * p.inRows + p.inR0 + t) * p.inS + p.inO + c];
}
