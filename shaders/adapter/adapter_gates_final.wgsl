// adapter_gates_final: the two gate gradients from their partial sums (stage 2):
//   dw_beta  += 100 β (1 − β) · Σ betaParts          (β = sigmoid(100 w_beta))
//   dw_omega += 100 w (1 − w) · Σ omegaParts         (w = sigmoid(100 w_omega))
// Reference: src/reference/adapter.ts adapterBackward. One workgroup of 256 threads.
// Output dgates (2): `+=` (parameter gradients).

struct Params {
  betaCount: u32,
  omegaCount: u32,
  _pad0: u32,
  _pad1: u32,
}

@group(0) @binding(0) var<storage, read_write> dgates: array<f32>;  // (2): dw_omega, dw_beta
@group(0) @binding(1) var<storage, read> betaParts: array<f32>;     // (betaCount)
@group(0) @binding(2) var<storage, read> omegaParts: array<f32>;    // (omegaCount)
@group(0) @binding(3) var<storage, read> gates: array<f32>;         // (2): w_omega, w_beta
@group(0) @binding(4) var<uniform> p: Params;

var<workgroup> rb: array<f32, 256>;
var<workgroup> ro: array<f32, 256>;

@compute @workgroup_size(256, 1, 1)
fn adapter_gates_final(@builtin(local_invocation_id) lid: vec3<u32>) {
  var sb = 0.0;
  var so = 0.0;
  for (var i = lid.x; i < p.betaCount; i += 256u) { sb += betaParts[i]; }
  for (var i = lid.x; i < p.omegaCount; i += 256u) { so += omegaParts[i]; }
  rb[lid.x] = sb;
  ro[lid.x] = so;
  workgroupBarrier();
  for (var s = 128u; s > 0u; s >>= 1u) {
    if (lid.x < s) {
      rb[lid.x] += rb[lid.x + s];
      ro[lid.x] += ro[lid.x + s];
    }
    workgroupBarrier();
  }
  if (lid.x == 0u) {
    let w = 1.0 / (1.0 + exp(-100.0 * gates[0]));
    let beta = 1.0 / (1.0 + exp(-100.0 * gates[1]));
    dgates[0] += 100.0 * w * (1.0 - w) * ro[0];
    dgates[1] += 100.0 * beta * (1.0 - beta) * rb[0];
  }
}
