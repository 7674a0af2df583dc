// adamw_update: one AdamW step (PyTorch semantics: decoupled weight decay, bias correction)
// for one parameter tensor, with an optional global-norm clip read from the GPU (no readback):
//   g = grad · (CLIP ? min(1, maxNorm / (norm + 1e-6)) : 1)
//   m = β1 m + (1 − β1) g;  v = β2 v + (1 − β2) g²
//   param −= lr · ((m / bc1) / (sqrt(v / bc2) + eps) + wd · param)
// lr already includes the tensor's multiplier; bc1 = 1 − β1^step, bc2 = 1 − β2^step.
// GUARDED: the step comes from optim_guard's state instead (t = applied steps, bc computed here),
// and a step the guard skipped (non-finite loss or norm) changes nothing.
// Reference: src/reference/optim.ts adamwUpdate (GUARDED: optimGuard then adamwUpdate). One
// thread per element. Outputs param, m, v: updated in place.

override CLIP: bool = false;
override GUARDED: bool = false;

struct Params {
  n: u32,
  lr: f32,
  beta1: f32,
  beta2: f32,
  eps: f32,
  wd: f32,
  bc1: f32,
  bc2: f32,
  maxNorm: f32,
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

@group(0) @binding(0) var<storage, read_write> param: array<f32>;  // (n)
@group(0) @binding(1) var<storage, read_write> m: array<f32>;      // (n)
@group(0) @binding(2) var<storage, read_write> v: array<f32>;      // (n)
@group(0) @binding(3) var<storage, read> grad: array<f32>;         // (n)
@group(0) @binding(4) var<storage, read> norm: array<f32>;         // (1), read with CLIP
@group(0) @binding(5) var<storage, read> guard: array<u32>;        // (4) t | skip | …, read with GUARDED
@group(0) @binding(6) var<uniform> p: Params;

@compute @workgroup_size(64, 1, 1)
fn adamw_update(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i >= p.n) { return; }
  var bc1 = p.bc1;
  var bc2 = p.bc2;
  if (GUARDED) {
    if (guard[1] != 0u) { return; }
    let t = f32(guard[0]);
    bc1 = 1.0 - pow(p.beta1, t);
    bc2 = 1.0 - pow(p.beta2, t);
  }
  var g = grad[i];
  if (CLIP) { g *= min(1.0, p.maxNorm / (norm[0] + 1e-6)); }
  let mi = p.beta1 * m[i] + (1.0 - p.beta1) * g;
  let vi = p.beta2 * v[i] + (1.0 - p.beta2) * g * g;
  m[i] = mi;
  v[i] = vi;
  param[i] -= p.lr * ((mi / bc1) / (sqrt(vi / bc2) + p.eps) + p.wd * param[i]);
}
