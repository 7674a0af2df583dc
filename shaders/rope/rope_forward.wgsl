// rope_forward: rotary position embedding as Hugging Face Llama / Qwen2 apply it (rotate_half):
//   out[i] = x[i]·cos − x[i+D/2]·sin;  out[i+D/2] = x[i+D/2]·cos + x[i]·sin,  i < D/2
// with cos/sin of (pos0 + t)·theta^(−2i/D) read from a host-built table (as HF caches them):
// the GPU's sin/cos lose accuracy far from [−π, π], a float64-built table does not.
// With INVERSE the rotation runs backwards (sin negated): that is the backward, dx from dout.
// Reference: src/reference/rope.ts ropeForward / ropeBackward.
// One thread per (row, head, i < D/2) pair. Output out: `=` (out and x must differ).

override INVERSE: bool = false;

struct Params {
  rows: u32,    // B·T·H
  T: u32,
  H: u32,
  D: u32,
  pos0: u32,
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

@group(0) @binding(0) var<storage, read_write> out: array<f32>;  // (B, T, H, D)
@group(0) @binding(1) var<storage, read> x: array<f32>;          // (B, T, H, D)
@group(0) @binding(2) var<storage, read> cosTab: array<f32>;     // (maxPos, D/2)
@group(0) @binding(3) var<storage, read> sinTab: array<f32>;     // (maxPos, D/2)
@group(0) @binding(4) var<uniform> p: Params;

@compute @workgroup_size(64, 1, 1)
fn rope_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let half = p.D / 2u;
  let idx = gid.x + gid.y * nwg.x * 64u;
  if (idx >= p.rows * half) { return; }
  let row = idx / half;          // (b·T + t)·H + h
  let i = idx % half;
  let t = (row / p.H) % p.T;
  let c = cosTab[(p.pos0 + t) * half + i];
  var s = sinTab[(p.pos0 + t) * half + i];
  if (INVERSE) { s = -s; }
  let o = row * p.D;
  let x1 = x[o + i];
  let x2 = x[o + i + half];
  out[o + i] = x1 * c - x2 * s;
  out[o + i + half] = x2 * c + x1 * s;
}
