// optim_guard: decides on the GPU, with no readback, whether this optimiser step is applied: it
// is skipped when the step's loss or the global gradient norm is not finite (NaN or ±inf), so the
// weights and the optimiser state stay as they were. Keeps the count of applied steps (AdamW's
// bias-correction t), the skip flag of this step, the run of consecutive skips and the total,
// and writes the skip flag into the loss history row for the host to read with the losses.
//   finite = loss and norm finite (bit test on the exponent: WGSL may assume no NaN in arithmetic)
//   finite:  t += 1; skip = 0; run = 0
//   else:    skip = 1; run += 1; skipped += 1
// Reference: src/reference/optim.ts optimGuard. One thread.
// Outputs guard (4 u32): updated in place; history[flagAt]: `=` (1.0 skipped, 0.0 applied).

struct Params {
  lossAt: u32,  // index of the step's loss in history
  flagAt: u32,  // index where the skip flag goes
  _pad0: u32,
  _pad1: u32,
}

@group(0) @binding(0) var<storage, read_write> guard: array<u32>;    // (4): t | skip | run | skipped
@group(0) @binding(1) var<storage, read_write> history: array<f32>;  // the loss history
@group(0) @binding(2) var<storage, read> norm: array<f32>;           // (1) global gradient norm
@group(0) @binding(3) var<uniform> p: Params;

fn finite(x: f32) -> bool {
  return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u;
}

@compute @workgroup_size(1, 1, 1)
fn optim_guard() {
  let ok = finite(history[p.lossAt]) && finite(norm[0]);
  if (ok) {
    guard[0] += 1u;
    guard[1] = 0u;
    guard[2] = 0u;
  } else {
    guard[1] = 1u;
    guard[2] += 1u;
    guard[3] += 1u;
  }
  history[p.flagAt] = select(1.0, 0.0, ok);
}
