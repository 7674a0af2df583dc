// adapter_gate_forward: y += beta · delta with beta = sigmoid(100 · w_beta) read on the GPU
// (the gated methods, trex / mor1e; lora, molora and sira add hB·Bᵀ to y in their matmul).
// y holds W0 x + bias from the base matmul. Reference: src/reference/adapter.ts adapterForward.
// One thread per element. Output y: `+=`.

struct Params {
  n: u32,
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

@group(0) @binding(0) var<storage, read_write> y: array<f32>;  // (T, m)
@group(0) @binding(1) var<storage, read> delta: array<f32>;    // (T, m)
@group(0) @binding(2) var<storage, read> gates: array<f32>;    // (2): w_omega, w_beta
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(64, 1, 1)
fn adapter_gate_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i >= p.n) { return; }
  let beta = 1.0 / (1.0 + exp(-100.0 * gates[1]));
  y[i] += beta * delta[i];
}
