// scale_forward: out = alpha·x, or out += alpha·x with ACCUMULATE. Serves scale forward and
// backward (dx = alpha·dout) and the residual add's backward (alpha 1, ACCUMULATE).
// Reference: src/reference/elementwise.ts scaleForward / scaleBackward / addBackward.
// One thread per element.

override ACCUMULATE: bool = false;

struct Params {
  n: u32,
  alpha: f32,
  _pad0: u32,
  _pad1: u32,
}

@group(0) @binding(0) var<storage, read_write> out: array<f32>;  // (n)
@group(0) @binding(1) var<storage, read> x: array<f32>;          // (n)
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(64, 1, 1)
fn scale_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i >= p.n) { return; }
  let v = p.alpha * x[i];
  if (ACCUMULATE) { out[i] += v; } else { out[i] = v; }
}
