// embedding_backward: dwte[v, c] += Σ over the tokens whose id is v of dout[token, c].
// Reference: src/reference/embedding.ts embeddingBackward (the wte part).
// No float atomics: the host groups the batch's token positions by id (CSR: `uniq` ids,
// `starts` offsets into `rows`), so each vocabulary row has exactly one owner workgroup.
// Work split: one workgroup row per distinct id (grid.y), 64 threads across C (grid.x).
// Output dwte: `+=` (a parameter gradient).

struct Params {
  U: u32,   // distinct ids in the batch
  C: u32,
  _pad0: u32,
  _pad1: u32,
}

@group(0) @binding(0) var<storage, read_write> dwte: array<f32>;  // (V, C)
@group(0) @binding(1) var<storage, read> dout: array<f32>;        // (B·T, C)
@group(0) @binding(2) var<storage, read> uniq: array<u32>;        // (U) distinct ids
@group(0) @binding(3) var<storage, read> starts: array<u32>;      // (U + 1) offsets into rows
@group(0) @binding(4) var<storage, read> rows: array<u32>;        // (B·T) token rows grouped by id
@group(0) @binding(5) var<uniform> p: Params;

@compute @workgroup_size(64, 1, 1)
fn embedding_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wg: vec3<u32>) {
  let c = gid.x;
  let u = wg.y + wg.z * 65535u;
  if (c >= p.C || u >= p.U) { return; }
  var s = 0.0;
  for (var j = starts[u]; j < starts[u + 1u]; j++) { s += dout[rows[j] * p.C + c]; }
  dwte[uniq[u] * p.C + c] += s;
}
