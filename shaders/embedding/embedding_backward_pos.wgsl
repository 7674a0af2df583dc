// embedding_backward_pos: dwpe[t, c] += Σ_b dout[b·T + t, c] (GPT-2's learned positions).
// Reference: src/reference/embedding.ts embeddingBackward (the wpe part).
// One thread per (t, c); each owns its element, so no atomics. Output dwpe: `+=`.

struct Params {
  B: u32,
  T: u32,
  C: u32,
  _pad: u32,
}

@group(0) @binding(0) var<storage, read_write> dwpe: array<f32>;  // (maxT, C)
@group(0) @binding(1) var<storage, read> dout: array<f32>;        // (B·T, C)
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(64, 1, 1)
fn embedding_backward_pos(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i >= p.T * p.C) { return; }
  var s = 0.0;
  for (var b = 0u; b < p.B; b++) { s += dout[b * p.T * p.C + i]; }
  dwpe[i] += s;
}
