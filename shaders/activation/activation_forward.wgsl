// activation_forward: out = f(x) elementwise, f = GELU (KIND 0, tanh approximation as GPT-2's
// gelu_new: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))) or SiLU (KIND 1, x·sigmoid(x)).
// Reference: src/reference/activation.ts geluForward / siluForward. One thread per element
// (2-D grid for large n). Output out: `=`.

override KIND: u32 = 0u;

struct Params {
  n: u32,
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

@group(0) @binding(0) var<storage, read_write> out: array<f32>;  // (n)
@group(0) @binding(1) var<storage, read> x: array<f32>;          // (n)
@group(0) @binding(2) var<uniform> p: Params;

const GELU_K: f32 = 0.7978845608028654;

fn gelu(v: f32) -> f32 {
  // tanh via exp of a clamped argument: WGSL's tanh may overflow to NaN for large |u|.
  let u = clamp(GELU_K * (v + 0.044715 * v * v * v), -15.0, 15.0);
  let e = exp(2.0 * u);
  return 0.5 * v * (1.0 + (e - 1.0) / (e + 1.0));
}

fn silu(v: f32) -> f32 {
  return v / (1.0 + exp(-v));
}

@compute @workgroup_size(64, 1, 1)
fn activation_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i >= p.n) { return; }
  if (KIND == 0u) { out[i] = gelu(x[i]); } else { out[i] = silu(x[i]); }
}
