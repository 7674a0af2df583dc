// cross_entropy_forward: fused softmax + cross-entropy per token over the vocabulary.
//   losses[r] = logsumexp(logits[r]) − logits[r][target_r]       (0 where target_r < 0: masked)
// With WRITE_GRAD (the fused backward) the logits row is overwritten in place by
//   dlogits[r] = (softmax(logits[r]) − onehot(target_r)) · invCount  (0 on masked rows),
// the gradient of the mean loss over the invCount⁻¹ unmasked tokens: no second V-wide buffer.
// Reference: src/reference/crossEntropy.ts crossEntropyForward / crossEntropyBackward.
// Work split: one workgroup of 256 threads per row; each thread keeps an online (max, sum)
// over its strided slice of V, merged in workgroup memory: temporaries are 2 x 256 floats
// whatever V is (50k-150k vocabularies included).
// Outputs: losses `=`; logits `=` dlogits with WRITE_GRAD, untouched otherwise.

override WRITE_GRAD: bool = false;

struct Params {
  N: u32,
  V: u32,
  invCount: f32,
  _pad: u32,
}

@group(0) @binding(0) var<storage, read_write> losses: array<f32>;  // (N)
@group(0) @binding(1) var<storage, read_write> logits: array<f32>;  // (N, V); dlogits with WRITE_GRAD
@group(0) @binding(2) var<storage, read> targets: array<i32>;       // (N), < 0 = masked
@group(0) @binding(3) var<uniform> p: Params;

const WG: u32 = 256u;
var<workgroup> rm: array<f32, 256>;
var<workgroup> rl: array<f32, 256>;

@compute @workgroup_size(256, 1, 1)
fn cross_entropy_forward(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let r = wg.x + wg.y * 65535u;
  if (r >= p.N) { return; }
  let tid = lid.x;
  let tgt = targets[r];
  let o = r * p.V;
  if (tgt < 0) {
    if (WRITE_GRAD) { for (var i = tid; i < p.V; i += WG) { logits[o + i] = 0.0; } }
    if (tid == 0u) { losses[r] = 0.0; }
    return;
  }
  var m = -3.0e38;
  var l = 0.0;
  for (var i = tid; i < p.V; i += WG) {
    let x = logits[o + i];
    if (x > m) { l = l * exp(m - x) + 1.0; m = x; } else { l += exp(x - m); }
  }
  rm[tid] = m;
  rl[tid] = l;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s >>= 1u) {
    if (tid < s) {
      let m2 = rm[tid + s];
      let mm = max(rm[tid], m2);
      rl[tid] = rl[tid] * exp(rm[tid] - mm) + rl[tid + s] * exp(m2 - mm);
      rm[tid] = mm;
    }
    workgroupBarrier();
  }
  let lse = rm[0] + log(rl[0]);
  let xt = logits[o + u32(tgt)];
  if (tid == 0u) { losses[r] = lse - xt; }
  if (WRITE_GRAD) {
    workgroupBarrier();  // every thread has read logits[tgt] before any overwrite
    for (var i = tid; i < p.V; i += WG) {
      var g = exp(logits[o + i] - lse);
      if (i == u32(tgt)) { g -= 1.0; }
      logits[o + i] = g * p.invCount;
    }
  }
}
