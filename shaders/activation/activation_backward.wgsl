// activation_backward: dx = dout · f'(x) for GELU (KIND 0, tanh approximation), SiLU (KIND 1) or
// exact GELU (KIND 2: f'(x) = Φ(x) + x·φ(x), Φ(x) = erfc(−x/√2)/2 with erfc as in
// activation_forward.wgsl, φ the standard normal density).
// Reference: src/reference/activation.ts geluBackward / siluBackward / geluErfBackward. One thread per element.
// Output dx: `=`, `+=` with ACCUMULATE.

override KIND: u32 = 0u;
override ACCUMULATE: bool = false;

struct Params {
  n: u32,
  _pad0: u32,
  _pad1: u32,
  _pad2: u32,
}

@group(0) @binding(0) var<storage, read_write> dx: array<f32>;  // (n)
@group(0) @binding(1) var<storage, read> dout: array<f32>;      // (n)
@group(0) @binding(2) var<storage, read> x: array<f32>;         // (n)
@group(0) @binding(3) var<uniform> p: Params;

const GELU_K: f32 = 0.7978845608028654;

fn gelu_grad(v: f32) -> f32 {
  let u = clamp(GELU_K * (v + 0.044715 * v * v * v), -15.0, 15.0);
  let e = exp(2.0 * u);
  let th = (e - 1.0) / (e + 1.0);
  return 0.5 * (1.0 + th) + 0.5 * v * (1.0 - th * th) * GELU_K * (1.0 + 3.0 * 0.044715 * v * v);
}

// erfc(z): Numerical Recipes erfcc, fractional error < 1.2e-7 (see activation_forward.wgsl).
fn erfc_nr(z: f32) -> f32 {
  let a = abs(z);
  let t = 1.0 / (1.0 + 0.5 * a);
  let r = t * exp(-a * a - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
          t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return select(2.0 - r, r, z >= 0.0);
}

const INV_SQRT2: f32 = 0.7071067811865476;
const INV_SQRT_2PI: f32 = 0.3989422804014327;

fn gelu_erf_grad(v: f32) -> f32 {
  return 0.5 * erfc_nr(-v * INV_SQRT2) + v * INV_SQRT_2PI * exp(-0.5 * v * v);
}

fn silu_grad(v: f32) -> f32 {
  let s = 1.0 / (1.0 + exp(-v));
  return s * (1.0 + v * (1.0 - s));
}

@compute @workgroup_size(64, 1, 1)
fn activation_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 64u;
  if (i >= p.n) { return; }
  var d: f32;
  if (KIND == 0u) { d = gelu_grad(x[i]); } else if (KIND == 1u) { d = silu_grad(x[i]); } else { d = gelu_erf_grad(x[i]); }
  let g = dout[i] * d;
  if (ACCUMULATE) { dx[i] += g; } else { dx[i] = g; }
}
