// matmul_backward_bias: dbias[n] += Σ_{b,m} dC[b][m][n] (the bias gradient of matmul_forward).
// Reference: src/reference/matmul.ts matmulBackwardBias.
// Work split: one workgroup per 16 columns; its 16 x 16 threads walk the rows (thread row
// ly takes rows ly, ly + 16, ...) with neighbouring threads on neighbouring columns, then
// reduce the 16 partial sums in workgroup memory. No atomics needed: each column has one owner.
// Output dbias: `+=` (a parameter gradient).

struct Params {
  rows: u32,     // batch * M, dC taken as (rows, N) contiguous
  N: u32,
  _pad0: u32,
  _pad1: u32,
}

@group(0) @binding(0) var<storage, read_write> dbias: array<f32>;  // (N)
@group(0) @binding(1) var<storage, read> dC: array<f32>;           // (rows, N)
@group(0) @binding(2) var<uniform> p: Params;

var<workgroup> partial: array<f32, 256>;

@compute @workgroup_size(16, 16, 1)
fn matmul_backward_bias(@builtin(workgroup_id) wg: vec3<u32>,
                        @builtin(local_invocation_id) lid: vec3<u32>) {
  let n = wg.x * 16u + lid.x;
  var s = 0.0;
  if (n < p.N) {
    for (var r = lid.y; r < p.rows; r += 16u) { s += dC[r * p.N + n]; }
  }
  partial[lid.y * 16u + lid.x] = s;
  workgroupBarrier();
  for (var stride = 8u; stride > 0u; stride >>= 1u) {
    if (lid.y < stride) { partial[lid.y * 16u + lid.x] += partial[(lid.y + stride) * 16u + lid.x]; }
    workgroupBarrier();
  }
  if (lid.y == 0u && n < p.N) { dbias[n] += partial[lid.x]; }
}
