// GPU parity for every transformer op (issue: kernels): each launcher against its float64
// reference at a tiny shape, an odd shape and one spanning many workgroups. Outputs are
// poisoned with NaN before each run (or start from a known gradient where the op accumulates);
// backward kernels get the reference forward's saved tensors so each kernel is checked alone.
import { test, expect } from './fixtures.ts';
import { f32, i32, maxRelError, rand32, seeded, u32 } from './util.ts';
import type { KernelInput, KernelOutput } from './harness/api.ts';
import { embeddingBackward, embeddingForward, type EmbeddingShape } from '../src/reference/embedding.ts';
import { layernormBackward, layernormForward, rmsnormBackward, rmsnormForward, type NormShape } from '../src/reference/norm.ts';
import { geluBackward, geluForward, siluBackward, siluForward, swigluBackward, swigluForward } from '../src/reference/activation.ts';
import { addBackward, addForward, scaleBackward, scaleForward } from '../src/reference/elementwise.ts';
import { ropeBackward, ropeForward, type RopeShape } from '../src/reference/rope.ts';
import { attentionBackward, attentionForward, type AttentionShape } from '../src/reference/attention.ts';
import { countTargets, crossEntropyBackward, crossEntropyForward } from '../src/reference/crossEntropy.ts';
import { adamwUpdate, reduceSum, type AdamWHyper } from '../src/reference/optim.ts';
import { copyRows, copyRowsBackward, type CopyRowsShape } from '../src/reference/copy.ts';
import { isCpuAdapter } from '../src/gpu/device.ts';

/** Relative error (floor 1) of f32 kernels against float64; they land around 1e-7..1e-6. */
const TOL = 1e-5;
const F = (n: number) => new Float64Array(n);
const arr = (a: Float64Array) => Array.from(a);

test.afterEach(async ({ gpu }) => {
  await gpu.expectNoGpuErrors();
});

test.describe('embedding', () => {
  const shapes: EmbeddingShape[] = [
    { B: 1, T: 1, C: 1, V: 2 },
    { B: 2, T: 7, C: 37, V: 53, pos0: 4 },
    { B: 3, T: 50, C: 96, V: 300 },
  ];
  for (const s of shapes) {
    test(`forward and backward B=${s.B} T=${s.T} C=${s.C} V=${s.V}`, async ({ gpu }) => {
      const r = seeded(JSON.stringify(s));
      const ids = Array.from({ length: s.B * s.T }, (_, i) => (i * 7 + Math.floor(r() * 3)) % s.V);
      ids[ids.length - 1] = ids[0]; // a repeated id: two rows scatter into one vocabulary row
      const wte = rand32(s.V * s.C, r), wpe = rand32(((s.pos0 ?? 0) + s.T) * s.C, r), dout = rand32(s.B * s.T * s.C, r);
      const out = F(s.B * s.T * s.C);
      embeddingForward(out, ids, wte, wpe, s);
      const got = await gpu.run({ op: 'embeddingForward', inputs: { ids: u32(ids), wte: f32(wte), wpe: f32(wpe) }, outputs: { out: { length: out.length } }, args: { shape: s } });
      expect(maxRelError(got.out, out)).toBeLessThan(TOL);
      const dwte = rand32(wte.length, r), dwpe = rand32(wpe.length, r);
      if (s.pos0) return; // the backward is for training (pos0 = 0)
      const g = await gpu.run({
        op: 'embeddingBackward', inputs: { dout: f32(dout) },
        outputs: { dwte: { length: dwte.length, init: arr(dwte) }, dwpe: { length: dwpe.length, init: arr(dwpe) } }, args: { shape: s, ids },
      });
      embeddingBackward(dwte, dwpe, dout, ids, s);
      expect(maxRelError(g.dwte, dwte)).toBeLessThan(TOL);
      expect(maxRelError(g.dwpe, dwpe)).toBeLessThan(TOL);
    });
  }
});

test.describe('layernorm and rmsnorm', () => {
  const shapes: NormShape[] = [
    { N: 1, C: 1, eps: 1e-5 },
    { N: 7, C: 37, eps: 1e-5 },
    { N: 300, C: 600, eps: 1e-6 },
  ];
  // Threads per row, whatever the device: 1 (a CPU's: a row per thread, 256 rows a workgroup),
  // 32 (8 rows a workgroup, a tree per row) and 256 (a workgroup per row: the GPU's).
  for (const s of shapes) for (const lanes of [1, 32, 256]) {
    const L = `, ${lanes} lane${lanes > 1 ? 's' : ''}`;
    test(`layernorm N=${s.N} C=${s.C}${L}`, async ({ gpu }) => {
      const r = seeded(`ln${s.N}`);
      const x = rand32(s.N * s.C, r, 2), w = rand32(s.C, r), b = rand32(s.C, r), dout = rand32(s.N * s.C, r);
      const out = F(x.length), mean = F(s.N), rstd = F(s.N);
      layernormForward(out, mean, rstd, x, w, b, s);
      const got = await gpu.run({
        op: 'layernormForward', inputs: { x: f32(x), w: f32(w), b: f32(b) },
        outputs: { out: { length: x.length }, mean: { length: s.N }, rstd: { length: s.N } }, args: { shape: s, lanes },
      });
      expect(maxRelError(got.out, out)).toBeLessThan(TOL);
      expect(maxRelError(got.mean, mean)).toBeLessThan(TOL);
      expect(maxRelError(got.rstd, rstd, 1e-3)).toBeLessThan(TOL);
      const m32 = Float64Array.from(Float32Array.from(mean)), r32 = Float64Array.from(Float32Array.from(rstd));
      const dx = rand32(x.length, r), dw = rand32(s.C, r), db = rand32(s.C, r);
      const accumulate = s.N === 7;
      const g = await gpu.run({
        op: 'layernormBackward', inputs: { dout: f32(dout), x: f32(x), w: f32(w), mean: f32(m32), rstd: f32(r32) },
        outputs: { dx: { length: x.length, init: accumulate ? arr(dx) : undefined }, dw: { length: s.C, init: arr(dw) }, db: { length: s.C, init: arr(db) } },
        args: { shape: s, accumulate, lanes },
      });
      layernormBackward(dx, dw, db, dout, x, w, m32, r32, s, accumulate);
      expect(maxRelError(g.dx, dx)).toBeLessThan(TOL);
      expect(maxRelError(g.dw, dw)).toBeLessThan(TOL);
      expect(maxRelError(g.db, db)).toBeLessThan(TOL);
    });

    test(`rmsnorm N=${s.N} C=${s.C}${L}`, async ({ gpu }) => {
      const r = seeded(`rms${s.N}`);
      const x = rand32(s.N * s.C, r, 2), w = rand32(s.C, r), dout = rand32(s.N * s.C, r);
      const out = F(x.length), rstd = F(s.N);
      rmsnormForward(out, rstd, x, w, s);
      const got = await gpu.run({ op: 'rmsnormForward', inputs: { x: f32(x), w: f32(w) }, outputs: { out: { length: x.length }, rstd: { length: s.N } }, args: { shape: s, lanes } });
      expect(maxRelError(got.out, out)).toBeLessThan(TOL);
      expect(maxRelError(got.rstd, rstd, 1e-3)).toBeLessThan(TOL);
      const r32 = Float64Array.from(Float32Array.from(rstd));
      const dx = F(x.length), dw = rand32(s.C, r);
      const g = await gpu.run({
        op: 'rmsnormBackward', inputs: { dout: f32(dout), x: f32(x), w: f32(w), rstd: f32(r32) },
        outputs: { dx: { length: x.length }, dw: { length: s.C, init: arr(dw) } }, args: { shape: s, lanes },
      });
      rmsnormBackward(dx, dw, dout, x, w, r32, s);
      expect(maxRelError(g.dx, dx)).toBeLessThan(TOL);
      expect(maxRelError(g.dw, dw)).toBeLessThan(TOL);
    });
  }
});

test.describe('activations, residual add, scale', () => {
  for (const n of [1, 37, 20_000]) {
    test(`gelu, silu, swiglu, add, scale: n=${n}`, async ({ gpu }) => {
      const r = seeded(`act${n}`);
      const x = rand32(n, r, 5), up = rand32(n, r), dout = rand32(n, r);
      for (const [name, fwd, bwd] of [['gelu', geluForward, geluBackward], ['silu', siluForward, siluBackward]] as const) {
        const out = F(n), dx = F(n);
        fwd(out, x, n);
        bwd(dx, dout, x, n);
        const a = await gpu.run({ op: `${name}Forward`, inputs: { x: f32(x) }, outputs: { out: { length: n } }, args: { n } });
        expect(maxRelError(a.out, out), `${name} forward`).toBeLessThan(TOL);
        const b = await gpu.run({ op: `${name}Backward`, inputs: { dout: f32(dout), x: f32(x) }, outputs: { dx: { length: n } }, args: { n } });
        expect(maxRelError(b.dx, dx), `${name} backward`).toBeLessThan(TOL);
      }
      const out = F(n), dg = F(n), du = F(n);
      swigluForward(out, x, up, n);
      swigluBackward(dg, du, dout, x, up, n);
      const sf = await gpu.run({ op: 'swigluForward', inputs: { gate: f32(x), up: f32(up) }, outputs: { out: { length: n } }, args: { n } });
      expect(maxRelError(sf.out, out)).toBeLessThan(TOL);
      const sb = await gpu.run({ op: 'swigluBackward', inputs: { dout: f32(dout), gate: f32(x), up: f32(up) }, outputs: { dgate: { length: n }, dup: { length: n } }, args: { n } });
      expect(maxRelError(sb.dgate, dg)).toBeLessThan(TOL);
      expect(maxRelError(sb.dup, du)).toBeLessThan(TOL);

      addForward(out, x, up, n);
      const af = await gpu.run({ op: 'addForward', inputs: { a: f32(x), b: f32(up) }, outputs: { out: { length: n } }, args: { n } });
      expect(maxRelError(af.out, out)).toBeLessThan(TOL);
      const da = rand32(n, r), db = rand32(n, r);
      const ab = await gpu.run({ op: 'addBackward', inputs: { dout: f32(dout) }, outputs: { da: { length: n, init: arr(da) }, db: { length: n, init: arr(db) } }, args: { n } });
      addBackward(da, db, dout, n);
      expect(maxRelError(ab.da, da)).toBeLessThan(TOL);
      expect(maxRelError(ab.db, db)).toBeLessThan(TOL);
      scaleForward(out, x, -0.375, n);
      const sc = await gpu.run({ op: 'scaleForward', inputs: { x: f32(x) }, outputs: { out: { length: n } }, args: { n, alpha: -0.375 } });
      expect(maxRelError(sc.out, out)).toBeLessThan(TOL);
      const dx = rand32(n, r);
      const sbk = await gpu.run({ op: 'scaleBackward', inputs: { dout: f32(dout) }, outputs: { dx: { length: n, init: arr(dx) } }, args: { n, alpha: 2.5, accumulate: true } });
      scaleBackward(dx, dout, 2.5, n, true);
      expect(maxRelError(sbk.dx, dx)).toBeLessThan(TOL);
    });
  }
});

test.describe('rope (HF rotate_half)', () => {
  const shapes: Array<RopeShape> = [
    { B: 1, T: 1, H: 1, D: 2, theta: 10000 },
    { B: 2, T: 7, H: 3, D: 10, theta: 10000, pos0: 3 },
    { B: 2, T: 64, H: 4, D: 32, theta: 1_000_000 },
  ];
  for (const s of shapes) {
    test(`forward and backward B=${s.B} T=${s.T} H=${s.H} D=${s.D} pos0=${s.pos0 ?? 0}`, async ({ gpu }) => {
      const r = seeded(`rope${s.T}`);
      const n = s.B * s.T * s.H * s.D;
      const x = rand32(n, r), dout = rand32(n, r), out = F(n), dx = F(n);
      ropeForward(out, x, s);
      ropeBackward(dx, dout, s);
      const { theta, ...shape } = s;
      const a = await gpu.run({ op: 'ropeForward', inputs: { x: f32(x) }, outputs: { out: { length: n } }, args: { shape, theta } });
      expect(maxRelError(a.out, out)).toBeLessThan(TOL);
      const b = await gpu.run({ op: 'ropeBackward', inputs: { dout: f32(dout) }, outputs: { dx: { length: n } }, args: { shape, theta } });
      expect(maxRelError(b.dx, dx)).toBeLessThan(TOL);
    });
  }
});

test.describe('causal attention with GQA', () => {
  const sep = (NH: number, NKV: number, D: number) => ({ q: { stride: NH * D, offset: 0 }, k: { stride: NKV * D, offset: 0 }, v: { stride: NKV * D, offset: 0 } });
  const fused = (NH: number, D: number) => ({ q: { stride: 3 * NH * D, offset: 0 }, k: { stride: 3 * NH * D, offset: NH * D }, v: { stride: 3 * NH * D, offset: 2 * NH * D } });
  const shapes: Array<[string, AttentionShape]> = [
    ['tiny B=1 T=1 NH=1 D=1', { B: 1, T: 1, NH: 1, NKV: 1, D: 1, ...sep(1, 1, 1) }],
    ['odd GQA B=2 T=7 NH=3 NKV=1 D=13', { B: 2, T: 7, NH: 3, NKV: 1, D: 13, ...sep(3, 1, 13) }],
    ['GPT-2 fused qkv B=2 T=19 NH=2 D=16', { B: 2, T: 19, NH: 2, NKV: 2, D: 16, ...fused(2, 16) }],
    ['long: key chunks B=1 T=300 NH=4 NKV=2 D=8', { B: 1, T: 300, NH: 4, NKV: 2, D: 8, ...sep(4, 2, 8) }],
  ];
  // Both work splits: a workgroup per query or key (the GPU's) and an invocation per query or key
  // (the *_rows kernels, SwiftShader's).
  for (const [name, s] of shapes) for (const split of ['workgroup', 'rows'] as const) {
    test(`${name}, ${split}`, async ({ gpu }) => {
      const r = seeded(name);
      const rows = s.B * s.T;
      const isFused = s.q.stride === s.k.stride && s.k.offset > 0;
      const q = rand32(rows * s.q.stride, r, 2);
      const k = isFused ? q : rand32(rows * s.k.stride, r, 2);
      const v = isFused ? q : rand32(rows * s.v.stride, r);
      const C = s.NH * s.D;
      const out = F(rows * C), lse = F(s.B * s.NH * s.T), dout = rand32(rows * C, r);
      attentionForward(out, lse, q, k, v, s);
      const inputs: Record<string, KernelInput> = isFused ? { q: f32(q) } : { q: f32(q), k: f32(k), v: f32(v) };
      const a = await gpu.run({ op: 'attentionForward', inputs, outputs: { out: { length: out.length }, lse: { length: lse.length } }, args: { shape: s, split } });
      expect(maxRelError(a.out, out)).toBeLessThan(TOL);
      expect(maxRelError(a.lse, lse)).toBeLessThan(TOL);

      const out32 = Float64Array.from(Float32Array.from(out)), lse32 = Float64Array.from(Float32Array.from(lse));
      const dq = F(q.length), dk = isFused ? dq : F(k.length), dv = isFused ? dq : F(v.length);
      attentionBackward(dq, dk, dv, dout, q, k, v, out32, lse32, s);
      const outputs: Record<string, KernelOutput> = isFused ? { dq: { length: q.length } } : { dq: { length: q.length }, dk: { length: k.length }, dv: { length: v.length } };
      const b = await gpu.run({ op: 'attentionBackward', inputs: { ...inputs, dout: f32(dout), out: f32(out32), lse: f32(lse32) }, outputs, args: { shape: s, split } });
      expect(maxRelError(b.dq, dq)).toBeLessThan(TOL);
      if (!isFused) {
        expect(maxRelError(b.dk, dk)).toBeLessThan(TOL);
        expect(maxRelError(b.dv, dv)).toBeLessThan(TOL);
      }
    });
  }
});

test('the kernel profile times each dispatch by kernel and changes no result', async ({ gpu }) => {
  const s: AttentionShape = { B: 2, T: 19, NH: 2, NKV: 2, D: 16, q: { stride: 32, offset: 0 }, k: { stride: 32, offset: 0 }, v: { stride: 32, offset: 0 } };
  const r = seeded('profile');
  const n = s.B * s.T * 32;
  const q = rand32(n, r, 2), k = rand32(n, r, 2), v = rand32(n, r), dout = rand32(n, r);
  const out = F(n), lse = F(s.B * s.NH * s.T);
  attentionForward(out, lse, q, k, v, s);
  const call = {
    op: 'attentionBackward', inputs: { q: f32(q), k: f32(k), v: f32(v), dout: f32(dout), out: f32(out), lse: f32(lse) },
    outputs: { dq: { length: n }, dk: { length: n }, dv: { length: n } }, args: { shape: s, split: 'workgroup' },
  };
  if (!gpu.info.features.includes('timestamp-query')) {
    await expect(gpu.profile(call)).rejects.toThrow(/kernel profiling needs the WebGPU feature "timestamp-query"/);
    return;
  }
  const plain = await gpu.run(call);
  const { outputs, kernels } = await gpu.profile(call);
  console.log(`[profile] ${kernels.map((x) => `${x.kernel} x${x.calls}: ${x.ms.toFixed(3)} ms`).join('; ')}`);
  // One query pass, then dk and dv: three dispatches of two kernels (dk and dv differ by override).
  expect(kernels.map((x) => [x.kernel, x.calls]).sort()).toEqual([['attention_backward_kv{VALUE=0}', 1], ['attention_backward_kv{VALUE=1}', 1], ['attention_backward_query', 1]]);
  for (const x of kernels) expect(Number.isFinite(x.ms) && x.ms >= 0, `${x.kernel}: ${x.ms} ms`).toBe(true);
  // SwiftShader's kernels take milliseconds; a GPU's take microseconds, which Chrome rounds to
  // 100 µs steps (so they may read 0 there).
  if (isCpuAdapter(gpu.info.adapter)) expect(kernels.reduce((a, x) => a + x.ms, 0), 'some GPU time measured').toBeGreaterThan(0);
  // A pass per dispatch instead of one shared pass: the same results, bit for bit.
  expect(outputs).toEqual(plain);
  // And the engine is back to normal afterwards: a second profile starts cleanly.
  expect((await gpu.profile(call)).kernels.length).toBe(3);
});

test.describe('attention with a KV cache, and copyRows forward and backward', () => {
  const shapes: Array<[string, AttentionShape]> = [
    ['decode 1 token after 5 cached, GQA', { B: 1, T: 1, NH: 4, NKV: 2, D: 6, kvT: 11, pos0: 5, q: { stride: 24, offset: 0 }, k: { stride: 12, offset: 0 }, v: { stride: 12, offset: 0 } }],
    ['prefill 7 into a cache of 20, B=2, fused-width rows', { B: 2, T: 7, NH: 3, NKV: 3, D: 5, kvT: 20, pos0: 0, q: { stride: 15, offset: 0 }, k: { stride: 15, offset: 0 }, v: { stride: 15, offset: 0 } }],
    ['decode 3 after 290 cached (key chunks)', { B: 1, T: 3, NH: 2, NKV: 1, D: 8, kvT: 300, pos0: 290, q: { stride: 16, offset: 0 }, k: { stride: 8, offset: 0 }, v: { stride: 8, offset: 0 } }],
  ];
  for (const [name, s] of shapes) for (const split of ['workgroup', 'rows'] as const) {
    test(`${name}, ${split}`, async ({ gpu }) => {
      const r = seeded(name);
      const q = rand32(s.B * s.T * s.q.stride, r, 2), k = rand32(s.B * s.kvT! * s.k.stride, r, 2), v = rand32(s.B * s.kvT! * s.v.stride, r);
      const out = F(s.B * s.T * s.NH * s.D), lse = F(s.B * s.NH * s.T);
      attentionForward(out, lse, q, k, v, s);
      const a = await gpu.run({ op: 'attentionForward', inputs: { q: f32(q), k: f32(k), v: f32(v) }, outputs: { out: { length: out.length }, lse: { length: lse.length } }, args: { shape: s, split } });
      expect(maxRelError(a.out, out)).toBeLessThan(TOL);
      expect(maxRelError(a.lse, lse)).toBeLessThan(TOL);
    });
  }

  const copies: CopyRowsShape[] = [
    { B: 1, T: 1, width: 1, inStride: 1, inOffset: 0, outRows: 1, r0: 0, outStride: 1, outOffset: 0 },
    { B: 2, T: 7, width: 13, inStride: 39, inOffset: 13, outRows: 20, r0: 5, outStride: 13, outOffset: 0 },
    { B: 3, T: 50, width: 96, inStride: 288, inOffset: 192, outRows: 64, r0: 14, outStride: 100, outOffset: 3 },
  ];
  for (const s of copies) {
    test(`copyRows B=${s.B} T=${s.T} width=${s.width} r0=${s.r0}`, async ({ gpu }) => {
      const r = seeded(`copy${s.T}`);
      const x = rand32(s.B * s.T * s.inStride, r);
      const init = rand32(s.B * s.outRows * s.outStride, r);
      const out = Float64Array.from(init);
      copyRows(out, x, s);
      const g = await gpu.run({ op: 'copyRows', inputs: { x: f32(x) }, outputs: { out: { length: out.length, init: arr(init) } }, args: { shape: s } });
      expect(maxRelError(g.out, out)).toBeLessThan(TOL);
      expect(g.out.filter((x, i) => x !== Math.fround(out[i])).length, 'copies are exact').toBe(0);
      // Backward: the gradient gathered back into the source layout (columns outside the block keep their values).
      const dout = rand32(out.length, r);
      const dxInit = rand32(x.length, r);
      const dx = Float64Array.from(dxInit);
      copyRowsBackward(dx, dout, s);
      const gb = await gpu.run({ op: 'copyRowsBackward', inputs: { dout: f32(dout) }, outputs: { dx: { length: dx.length, init: arr(dxInit) } }, args: { shape: s } });
      expect(maxRelError(gb.dx, dx)).toBeLessThan(TOL);
    });
  }
});

test.describe('fused softmax cross-entropy with a token mask', () => {
  const shapes: Array<[number, number]> = [[1, 2], [7, 37], [5, 3000], [2, 50_257]];
  for (const [N, V] of shapes) {
    test(`N=${N} V=${V}`, async ({ gpu }) => {
      const r = seeded(`ce${V}`);
      const logits = rand32(N * V, r, 4);
      const targets = Array.from({ length: N }, (_, i) => (i % 3 === 1 ? -100 : Math.floor(r() * V)));
      const s = { N, V, count: countTargets(targets, N, V) };
      const losses = F(N), dlogits = F(N * V);
      crossEntropyForward(losses, logits, targets, s);
      const a = await gpu.run({ op: 'crossEntropyForward', inputs: { logits: f32(logits), targets: i32(targets) }, outputs: { losses: { length: N } }, args: { shape: s } });
      expect(maxRelError(a.losses, losses)).toBeLessThan(TOL);
      crossEntropyBackward(dlogits, losses, logits, targets, s);
      // The backward overwrites the logits with dlogits: poison-free by construction, so check
      // every element, masked rows (all zero) included.
      const b = await gpu.run({ op: 'crossEntropyBackward', inputs: { targets: i32(targets) }, outputs: { logits: { length: N * V, init: arr(logits) }, losses: { length: N } }, args: { shape: s } });
      expect(maxRelError(b.losses, losses)).toBeLessThan(TOL);
      expect(maxRelError(b.logits, dlogits, 1e-3)).toBeLessThan(1e-4);
    });
  }
});

test.describe('two-stage reductions and AdamW', () => {
  test('reduceSum: global norm over tensors of 1, 37 and 10000 elements; a scaled mean', async ({ gpu }) => {
    const r = seeded('reduce');
    const ts = [rand32(1, r), rand32(37, r), rand32(10_000, r)];
    const norm = F(1), mean = F(1);
    reduceSum(norm, ts, { square: true, sqrt: true });
    reduceSum(mean, ts, { scale: 1 / 10_038 });
    const inputs = { a: f32(ts[0]), b: f32(ts[1]), c: f32(ts[2]) };
    const tensors = [{ name: 'a', n: 1 }, { name: 'b', n: 37 }, { name: 'c', n: 10_000 }];
    const g1 = await gpu.run({ op: 'reduceSum', inputs, outputs: { out: { length: 1 } }, args: { tensors, opts: { square: true, sqrt: true } } });
    expect(maxRelError(g1.out, norm)).toBeLessThan(TOL);
    const g2 = await gpu.run({ op: 'reduceSum', inputs, outputs: { out: { length: 1 } }, args: { tensors, opts: { scale: 1 / 10_038 } } });
    expect(maxRelError(g2.out, mean)).toBeLessThan(TOL);
  });

  for (const n of [1, 37, 5000]) {
    for (const clip of [false, true]) {
      test(`adamw: 3 steps, n=${n}${clip ? ', clipped to a global norm' : ''}`, async ({ gpu }) => {
        const r = seeded(`adam${n}${clip}`);
        let param = rand32(n, r), m = F(n), v = F(n);
        const normValue = clip ? Float64Array.from([Math.fround(7.5)]) : null;
        for (let step = 1; step <= 3; step++) {
          const grad = rand32(n, r);
          const h: AdamWHyper = { lr: 1e-2, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, step, lrMult: 0.5, maxNorm: clip ? 1 : 0 };
          const p2 = Float64Array.from(param), m2 = Float64Array.from(m), v2 = Float64Array.from(v);
          adamwUpdate(p2, m2, v2, grad, normValue, h, n);
          const g = await gpu.run({
            op: 'adamwUpdate', inputs: normValue ? { grad: f32(grad), norm: f32(normValue) } : { grad: f32(grad) },
            outputs: { param: { length: n, init: arr(param) }, m: { length: n, init: arr(m) }, v: { length: n, init: arr(v) } }, args: { hyper: h, n },
          });
          expect(maxRelError(g.param, p2)).toBeLessThan(TOL);
          expect(maxRelError(g.m, m2)).toBeLessThan(TOL);
          expect(maxRelError(g.v, v2)).toBeLessThan(TOL);
          // Carry the GPU's state forward so each step starts from what the GPU holds.
          param = Float64Array.from(g.param); m = Float64Array.from(g.m); v = Float64Array.from(g.v);
        }
      });
    }
  }
});
