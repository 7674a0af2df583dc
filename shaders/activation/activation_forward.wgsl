// activation_forward: out = f(x) elementwise, f = GELU (KIND 0, tanh approximation as GPT-2's
// gelu_new: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))), SiLU (KIND 1, x·sigmoid(x)) or exact
// GELU (KIND 2, BERT's "gelu": 0.5·x·(1 + erf(x/√2)) = 0.5·x·erfc(−x/√2)).
// WGSL has no erf: erfc comes from Numerical Recipes' erfcc (Press et al., 2nd ed., §6.2), a
// Chebyshev fit t·exp(−z² + P(t)), t = 1/(1 + z/2), with fractional error < 1.2e-7 for every
// z ≥ 0 (erfc(−z) = 2 − erfc(z)); so exact GELU is within about 1.2e-7·|x| of the true value,
// with the relative accuracy kept in the negative tail (no 1 − erf cancellation).
// Reference: src/reference/activation.ts geluForward / siluForward / geluErfForward. One thread
// per element (2-D grid for large n). Output out: `=`.

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

// erfc(z) (Numerical Recipes erfcc; see the header).
fn erfc_nr(z: f32) -> f32 {
  let a = abs(z);
  let t = 1.0 / (1.0 + 0.5 * a);
  let r = t * exp(-a * a - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
          t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return select(2.0 - r, r, z >= 0.0);
}

const INV_SQRT2: f32 = 0.7071067811865476;

fn gelu_erf(v: f32) -> f32 {
  return 0.5 * v * erfc_nr(-v * INV_SQRT2);
}

@compute @workgroup_size(64, 1, 1)
fn activation_forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i >= p.n) { return; }
  if (KIND == 0u) { out[i] = gelu(x[i]); } else if (KIND == 1u) { out[i] = silu(x[i]); } else { out[i] = gelu_erf(x[i]); }
}
