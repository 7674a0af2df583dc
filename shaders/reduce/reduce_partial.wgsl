// reduce_partial: stage 1 of a sum (SQUARE: sum of squares) without float atomics: workgroup w
// sums x[w·chunk, (w+1)·chunk) and writes partials[slot0 + w]. Several tensors write disjoint
// slot ranges of one partials buffer; reduce_final then sums them all.
// Reference: src/reference/optim.ts reduceSum. 256 threads, tree reduction. Output: `=`.

override SQUARE: bool = false;

struct Params {
  n: u32,
  chunk: u32,
  slot0: u32,
  _pad: u32,
}

@group(0) @binding(0) var<storage, read_write> partials: array<f32>;  // (slots)
@group(0) @binding(1) var<storage, read> x: array<f32>;               // (n)
@group(0) @binding(2) var<uniform> p: Params;

var<workgroup> red: array<f32, 256>;

@compute @workgroup_size(256, 1, 1)
fn reduce_partial(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let w = wg.x + wg.y * 65535u;
  let start = w * p.chunk;
  let end = min(start + p.chunk, p.n);
  var s = 0.0;
  for (var i = start + lid.x; i < end; i += 256u) {
    let v = x[i];
    if (SQUARE) { s += v * v; } else { s += v; }
  }
  red[lid.x] = s;
  workgroupBarrier();
  for (var k = 128u; k > 0u; k >>= 1u) {
    if (lid.x < k) { red[lid.x] += red[lid.x + k]; }
    workgroupBarrier();
  }
  if (lid.x == 0u && start < p.n) { partials[p.slot0 + w] = red[0]; }
}
