// swiglu_backward: dgate = dout·up·silu'(gate), dup = dout·silu(gate).
// Reference: src/reference/activation.ts swigluBackward. One thread per element.
// Outputs dgate, dup: `=`.

struct Params {
  n: u32,
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

@group(0) @binding(0) var<storage, read_write> dgate: array<f32>;  // (n)
@group(0) @binding(1) var<storage, read_write> dup: array<f32>;    // (n)
@group(0) @binding(2) var<storage, read> dout: array<f32>;         // (n)
@group(0) @binding(3) var<storage, read> gate: array<f32>;         // (n)
@group(0) @binding(4) var<storage, read> up: array<f32>;           // (n)
@group(0) @binding(5) var<uniform> p: Params;

@compute @workgroup_size(64, 1, 1)
fn swiglu_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i >= p.n) { return; }
  let g = gate[i];
  let s = 1.0 / (1.0 + exp(-g));
  dgate[i] = dout[i] * up[i] * s * (1.0 + g * (1.0 - s));
  dup[i] = dout[i] * g * s;
}
