// reduce_final: stage 2: out[index] = scale · (SQRT ? sqrt(S) : S), S = Σ partials[0, count).
// Reference: src/reference/optim.ts reduceSum. One workgroup of 256 threads. Output: `=`.

override SQRT: bool = false;

struct Params {
  count: u32,
  index: u32,
  scale: f32,
  _pad: u32,
}

@group(0) @binding(0) var<storage, read_write> out: array<f32>;      // (≥ index + 1)
@group(0) @binding(1) var<storage, read> partials: array<f32>;       // (count)
@group(0) @binding(2) var<uniform> p: Params;

var<workgroup> red: array<f32, 256>;

@compute @workgroup_size(256, 1, 1)
fn reduce_final(@builtin(local_invocation_id) lid: vec3<u32>) {
  var s = 0.0;
  for (var i = lid.x; i < p.count; i += 256u) { s += partials[i]; }
  red[lid.x] = s;
  workgroupBarrier();
  for (var k = 128u; k > 0u; k >>= 1u) {
    if (lid.x < k) { red[lid.x] += red[lid.x + k]; }
    workgroupBarrier();
  }
  if (lid.x == 0u) {
    var v = red[0];
    if (SQRT) { v = sqrt(v); }
    out[p.index] = v * p.scale;
  }
}
