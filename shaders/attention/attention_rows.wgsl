// attention_rows: what the *_rows attention kernels share, included by each (`//#include`,
// src/gpu/engine.ts expandIncludes): the row an invocation owns and that row's coordinates. Not a
// kernel of its own. The launchers grid them with gridElements(rows, 64) (src/ops/attention.ts).

/** The invocation's row: one per invocation, 64 a workgroup, the grid x (≤ 65535) by y. */
fn attention_row(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return gid.x + gid.y * nwg.x * 64u;
}

/** (t, head, b) of row = (b·heads + head)·T + t. */
fn attention_row_coords(row: u32, T: u32, heads: u32) -> vec3<u32> {
  return vec3<u32>(row % T, (row / T) % heads, row / (T * heads));
}
