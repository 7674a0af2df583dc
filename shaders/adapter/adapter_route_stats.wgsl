// adapter_route_stats: router statistics of one adapted layer for a batch, stage 1 of 2: partial
// sums per chunk of tokens (no float atomics); adapter_route_stats_final turns them into means.
// For each group (group 0 = all real tokens, group 1 + c = real tokens of task c; with MASKED,
// tokens whose mask is 0 are padding and count in no group), chunk of `chunk` tokens and expert k:
//   f_k    = Σ [top1 = k]              (top1 from the forward)
//   P_k    = Σ p_k
//   G_k    = Σ g_k
//   h_k    = Σ −p_k log p_k            (expert k's share of the router entropy; p_k > 0 only)
//   count  = the chunk's tokens in the group
// Layout of `partials`: [group][chunk] blocks of 4E + 1 floats: f (E) | P (E) | G (E) | h (E) | count.
// Reference: src/reference/adapter.ts routeStats (the sums before the division).
// Work split: one thread per (chunk, expert) along x (64 per workgroup), the group along y; each
// walks its chunk's tokens, so consecutive threads read consecutive experts of a token. No
// barriers, no atomics.
// Output partials: `=`.

override MASKED: bool = false;

struct Params {
  T: u32,
  E: u32,
  chunk: u32,   // tokens per chunk
  chunks: u32,  // ceil(T / chunk)
}

@group(0) @binding(0) var<storage, read_write> partials: array<f32>;  // (groups · chunks · (4E + 1))
@group(0) @binding(1) var<storage, read> route: array<f32>;           // (T, 3E): p | pk | g
@group(0) @binding(2) var<storage, read> top1: array<u32>;            // (T)
@group(0) @binding(3) var<storage, read> task: array<u32>;            // (T), task label per token
@group(0) @binding(4) var<storage, read> mask: array<u32>;            // (T), 1 = real, 0 = padding (MASKED)
@group(0) @binding(5) var<uniform> p: Params;

@compute @workgroup_size(64, 1, 1)
fn adapter_route_stats(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  let grp = gid.y;
  let c = i / p.E;
  let k = i % p.E;
  if (c >= p.chunks) { return; }
  let t0 = c * p.chunk;
  let t1 = min(t0 + p.chunk, p.T);
  var f = 0.0;
  var pm = 0.0;
  var gm = 0.0;
  var h = 0.0;
  var count = 0.0;
  for (var t = t0; t < t1; t++) {
    if (MASKED && mask[t] == 0u) { continue; }
    if (grp > 0u && task[t] + 1u != grp) { continue; }
    count += 1.0;
    let ro = t * 3u * p.E;
    let pk = route[ro + k];
    if (top1[t] == k) { f += 1.0; }
    pm += pk;
    gm += route[ro + 2u * p.E + k];
    if (pk > 0.0) { h -= pk * log(pk); }
  }
  let o = (grp * p.chunks + c) * (4u * p.E + 1u);
  partials[o + k] = f;
  partials[o + p.E + k] = pm;
  partials[o + 2u * p.E + k] = gm;
  partials[o + 3u * p.E + k] = h;
  if (k == 0u) { partials[o + 4u * p.E] = count; }
}
