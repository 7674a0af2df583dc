// adapter_gate_backward (gated methods: trex, mor1e): dδ = beta · dy with beta = sigmoid(100 ·
// w_beta), and stage 1 of <dy, delta> (for dw_beta) as one partial sum per workgroup (no float
// atomics). An ungated layer's dδ is dy itself and has no gate: the launcher skips this kernel.
// Reference: src/reference/adapter.ts adapterBackward.
// Work split: 256 threads, each taking ELEMS elements 256 apart (consecutive threads read
// consecutive elements), so a workgroup covers 256·ELEMS elements; then a tree reduction in
// workgroup memory. ELEMS is 1 on GPUs and 64 on a CPU fallback adapter, where each workgroup's
// nine barriers cost more than the arithmetic (see gateElems in src/ops/adapter.ts).
// Outputs ddelta `=`, partials[workgroup] `=`.

override ELEMS: u32 = 1u;

struct Params {
  n: u32,
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

@group(0) @binding(0) var<storage, read_write> ddelta: array<f32>;    // (T, m)
@group(0) @binding(1) var<storage, read_write> partials: array<f32>;  // (workgroups)
@group(0) @binding(2) var<storage, read> dy: array<f32>;              // (T, m)
@group(0) @binding(3) var<storage, read> delta: array<f32>;           // (T, m)
@group(0) @binding(4) var<storage, read> gates: array<f32>;           // (2)
@group(0) @binding(5) var<uniform> p: Params;

var<workgroup> red: array<f32, 256>;

@compute @workgroup_size(256, 1, 1)
fn adapter_gate_backward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let w = wg.x + wg.y * nwg.x;
  let beta = 1.0 / (1.0 + exp(-100.0 * gates[1]));
  var part = 0.0;
  for (var k = 0u; k < ELEMS; k++) {
    let i = (w * ELEMS + k) * 256u + lid.x;
    if (i < p.n) {
      ddelta[i] = beta * dy[i];
      part += dy[i] * delta[i];
    }
  }
  red[lid.x] = part;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s >>= 1u) {
    if (lid.x < s) { red[lid.x] += red[lid.x + s]; }
    workgroupBarrier();
  }
  if (lid.x == 0u) { partials[w] = red[0]; }
}
