// matmul_skinny_body: what matmul_skinny and matmul_skinny_scalar share, included by both
// (`//#include`, src/gpu/engine.ts expandIncludes): the overrides, the parameters, the output and
// bias bindings, the reduction and `skinny`, the work of one workgroup. The including kernel binds
// A (binding 1) and B (binding 2) and defines loadA4, loadBt4 and loadBn4 (vec4 views, or
// bounds-checked scalar loads). Work split, KSPLIT and ROWS: matmul_skinny.wgsl's header. Not a
// kernel by itself (it has no entry point).

override TRANS_B: bool = false;
override HAS_BIAS: bool = false;
override ACCUMULATE: bool = false;
override ROWS: u32 = 1u;
override KSPLIT: u32 = 1u;  // 1, 2, 4, ..., 64

const THREADS: u32 = 64u;
const V: u32 = 4u;                      // columns per group (partial sums per row and thread)
override G: u32 = THREADS / KSPLIT;     // column groups
// Partial sums for the K reduction: value j of thread t at j * THREADS + t (16 KiB at most).
override RED: u32 = select(1u, THREADS * V * ROWS, KSPLIT > 1u);

struct Params {
  M: u32,
  N: u32,
  K: u32,
  batch: u32,
  strideA: u32,  // elements between batch entries of A (0 = shared)
  strideB: u32,
  strideC: u32,
  _pad: u32,
}

@group(0) @binding(0) var<storage, read_write> C: array<f32>;     // (batch, M, N)
@group(0) @binding(3) var<storage, read> bias: array<f32>;        // (N), read only with HAS_BIAS
@group(0) @binding(4) var<uniform> p: Params;

var<workgroup> red: array<f32, RED>;

// Adds the bias and writes (or adds into) output (m, n) when it is in range.
fn store(baseC: u32, m: u32, n: u32, v: f32) {
  if (m >= p.M || n >= p.N) { return; }
  var s = v;
  if (HAS_BIAS) { s += bias[n]; }
  let idx = baseC + m * p.N + n;
  if (ACCUMULATE) { C[idx] += s; } else { C[idx] = s; }
}

fn skinny(wg: vec3<u32>, li: u32) {
  let b = wg.z;
  let baseA = b * p.strideA;
  let baseB = b * p.strideB;
  let baseC = b * p.strideC;
  let Q = (p.K + 3u) / 4u;  // vec4 steps along K
  // The thread's K-lane and column group (the two layouts of the header).
  var lane: u32;
  var grp: u32;
  if (TRANS_B) { lane = li % KSPLIT; grp = li / KSPLIT; } else { grp = li % G; lane = li / G; }
  let n0 = (wg.x * G + grp) * V;  // the group's first column
  var acc: array<vec4<f32>, 16>;  // acc[r]: row r's partial sums for the group's 4 columns
  for (var r = 0u; r < ROWS; r++) { acc[r] = vec4<f32>(0.0); }

  if (TRANS_B) {
    let last = p.N - 1u;
    for (var q = lane; q < Q; q += KSPLIT) {
      let b0 = loadBt4(baseB, min(n0, last), q);
      let b1 = loadBt4(baseB, min(n0 + 1u, last), q);
      let b2 = loadBt4(baseB, min(n0 + 2u, last), q);
      let b3 = loadBt4(baseB, min(n0 + 3u, last), q);
      for (var r = 0u; r < ROWS; r++) {
        let a = loadA4(baseA, min(r, p.M - 1u), q);
        acc[r] += vec4<f32>(dot(a, b0), dot(a, b1), dot(a, b2), dot(a, b3));
      }
    }
  } else {
    let v = min(n0 / 4u, (p.N + 3u) / 4u - 1u);  // the group's vec4 of columns
    for (var q = lane; q < Q; q += KSPLIT) {
      let k = 4u * q;
      let b0 = loadBn4(baseB, k, v);
      let b1 = loadBn4(baseB, k + 1u, v);
      let b2 = loadBn4(baseB, k + 2u, v);
      let b3 = loadBn4(baseB, k + 3u, v);
      for (var r = 0u; r < ROWS; r++) {
        let a = loadA4(baseA, min(r, p.M - 1u), q);
        acc[r] += a.x * b0 + a.y * b1 + a.z * b2 + a.w * b3;
      }
    }
  }

  if (KSPLIT == 1u) {
    for (var r = 0u; r < ROWS; r++) {
      for (var c = 0u; c < V; c++) { store(baseC, r, n0 + c, acc[r][c]); }
    }
    return;
  }

  // Add the KSPLIT partials of each output: output o is value j = o / G (row j / V, column
  // j % V) of group g = o % G.
  for (var r = 0u; r < ROWS; r++) {
    for (var c = 0u; c < V; c++) { red[(V * r + c) * THREADS + li] = acc[r][c]; }
  }
  workgroupBarrier();
  for (var o = li; o < ROWS * V * G; o += THREADS) {
    let g = o % G;
    let j = o / G;
    var s = 0.0;
    for (var l = 0u; l < KSPLIT; l++) {
      // The group's threads: TRANS_B g * KSPLIT + l, taken from lane g on so that neighbouring
      // outputs read different banks; otherwise l * G + g.
      var t: u32;
      if (TRANS_B) { t = g * KSPLIT + (l + g) % KSPLIT; } else { t = l * G + g; }
      s += red[j * THREADS + t];
    }
    store(baseC, j / V, (wg.x * G + g) * V + j % V, s);
  }
}
