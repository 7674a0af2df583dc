// Every transformer op's float64 reference backward against central finite differences of its
// forward (loss = Σ out ⊙ G with a fixed random G), at small odd shapes.
import { describe, expect, it } from 'vitest';
import { dot, maxRelError, numericGrad, randn, rng } from '../src/reference/gradcheck.ts';
import { embeddingBackward, embeddingForward } from '../src/reference/embedding.ts';
import { layernormBackward, layernormForward, rmsnormBackward, rmsnormForward } from '../src/reference/norm.ts';
import { geluBackward, geluForward, siluBackward, siluForward, swigluBackward, swigluForward } from '../src/reference/activation.ts';
import { addBackward, addForward, scaleBackward, scaleForward } from '../src/reference/elementwise.ts';
import { ropeBackward, ropeForward } from '../src/reference/rope.ts';
import { attentionBackward, attentionForward, type AttentionShape } from '../src/reference/attention.ts';
import { crossEntropyBackward, crossEntropyForward } from '../src/reference/crossEntropy.ts';
import { adamwUpdate, clipScale, reduceSum } from '../src/reference/optim.ts';
import { copyRows, copyRowsBackward } from '../src/reference/copy.ts';

const F = (n: number) => new Float64Array(n);
const TOL = 1e-7;

describe('finite-difference checks of the references', () => {
  it('embedding: dwte and dwpe', () => {
    const r = rng(1);
    const s = { B: 2, T: 3, C: 5, V: 7 };
    const ids = [3, 1, 3, 6, 0, 3];
    const wte = randn(s.V * s.C, r);
    const wpe = randn(s.T * s.C, r);
    const G = randn(s.B * s.T * s.C, r);
    const out = F(G.length);
    const loss = () => (embeddingForward(out, ids, wte, wpe, s), dot(out, G));
    const dwte = F(wte.length);
    const dwpe = F(wpe.length);
    embeddingBackward(dwte, dwpe, G, ids, s);
    expect(maxRelError(dwte, numericGrad(wte, loss))).toBeLessThan(TOL);
    expect(maxRelError(dwpe, numericGrad(wpe, loss))).toBeLessThan(TOL);
    expect(() => embeddingForward(out, [0, 1, 9, 0, 0, 0], wte, wpe, s)).toThrow(/token id 9 at batch 0, position 2/);
  });

  it('layernorm: dx, dw, db', () => {
    const r = rng(2);
    const s = { N: 3, C: 7, eps: 1e-5 };
    const x = randn(21, r), w = randn(7, r), b = randn(7, r), G = randn(21, r);
    const out = F(21), mean = F(3), rstd = F(3);
    const loss = () => (layernormForward(out, mean, rstd, x, w, b, s), dot(out, G));
    loss();
    const dx = F(21), dw = F(7), db = F(7);
    layernormBackward(dx, dw, db, G, x, w, mean, rstd, s);
    expect(maxRelError(dx, numericGrad(x, loss))).toBeLessThan(TOL);
    expect(maxRelError(dw, numericGrad(w, loss))).toBeLessThan(TOL);
    expect(maxRelError(db, numericGrad(b, loss))).toBeLessThan(TOL);
  });

  it('rmsnorm: dx, dw', () => {
    const r = rng(3);
    const s = { N: 4, C: 5, eps: 1e-6 };
    const x = randn(20, r), w = randn(5, r), G = randn(20, r);
    const out = F(20), rstd = F(4);
    const loss = () => (rmsnormForward(out, rstd, x, w, s), dot(out, G));
    loss();
    const dx = F(20), dw = F(5);
    rmsnormBackward(dx, dw, G, x, w, rstd, s);
    expect(maxRelError(dx, numericGrad(x, loss))).toBeLessThan(TOL);
    expect(maxRelError(dw, numericGrad(w, loss))).toBeLessThan(TOL);
  });

  it('gelu, silu, swiglu', () => {
    const r = rng(4);
    const n = 13;
    const x = randn(n, r, 3), up = randn(n, r), G = randn(n, r), out = F(n);
    for (const [fwd, bwd] of [[geluForward, geluBackward], [siluForward, siluBackward]] as const) {
      const dx = F(n);
      bwd(dx, G, x, n);
      expect(maxRelError(dx, numericGrad(x, () => (fwd(out, x, n), dot(out, G))))).toBeLessThan(TOL);
    }
    const dg = F(n), du = F(n);
    swigluBackward(dg, du, G, x, up, n);
    const loss = () => (swigluForward(out, x, up, n), dot(out, G));
    expect(maxRelError(dg, numericGrad(x, loss))).toBeLessThan(TOL);
    expect(maxRelError(du, numericGrad(up, loss))).toBeLessThan(TOL);
  });

  it('gelu matches the tanh approximation at known points', () => {
    const out = F(3);
    geluForward(out, Float64Array.from([0, 1, -2]), 3);
    expect(out[0]).toBe(0);
    expect(out[1]).toBeCloseTo(0.8411919906, 9);
    expect(out[2]).toBeCloseTo(-0.0454023, 6);
  });

  it('add and scale', () => {
    const r = rng(5);
    const n = 9;
    const a = randn(n, r), b = randn(n, r), G = randn(n, r), out = F(n);
    const da = F(n), db = F(n);
    addBackward(da, db, G, n);
    const loss = () => (addForward(out, a, b, n), dot(out, G));
    expect(maxRelError(da, numericGrad(a, loss))).toBeLessThan(TOL);
    expect(maxRelError(db, numericGrad(b, loss))).toBeLessThan(TOL);
    const dx = F(n);
    scaleBackward(dx, G, -0.7, n);
    expect(maxRelError(dx, numericGrad(a, () => (scaleForward(out, a, -0.7, n), dot(out, G))))).toBeLessThan(TOL);
  });

  it('rope: backward, and the HF rotate-half convention at a known point', () => {
    const r = rng(6);
    const s = { B: 2, T: 5, H: 3, D: 6, theta: 10000, pos0: 2 };
    const n = 2 * 5 * 3 * 6;
    const x = randn(n, r), G = randn(n, r), out = F(n), dx = F(n);
    ropeBackward(dx, G, s);
    expect(maxRelError(dx, numericGrad(x, () => (ropeForward(out, x, s), dot(out, G))))).toBeLessThan(TOL);
    // D = 2, position 1, theta irrelevant for i = 0: a plain rotation by 1 radian.
    const o = F(4);
    ropeForward(o, Float64Array.from([0, 0, 1, 0]), { B: 1, T: 2, H: 1, D: 2, theta: 500 });
    expect(o[2]).toBeCloseTo(Math.cos(1), 12);
    expect(o[3]).toBeCloseTo(Math.sin(1), 12);
  });

  const attnShapes: Array<[string, AttentionShape]> = [
    ['MHA, fused qkv (GPT-2 layout)', { B: 2, T: 4, NH: 2, NKV: 2, D: 3, q: { stride: 18, offset: 0 }, k: { stride: 18, offset: 6 }, v: { stride: 18, offset: 12 } }],
    ['GQA 4 query heads on 2 kv heads (Llama layout)', { B: 1, T: 5, NH: 4, NKV: 2, D: 2, q: { stride: 8, offset: 0 }, k: { stride: 4, offset: 0 }, v: { stride: 4, offset: 0 } }],
  ];
  for (const [name, s] of attnShapes) {
    it(`attention: dq, dk, dv — ${name}`, () => {
      const r = rng(7);
      const fused = s.q.stride === s.k.stride && s.q.offset !== s.k.offset;
      const rows = s.B * s.T;
      const q = randn(rows * s.q.stride, r);
      const k = fused ? q : randn(rows * s.k.stride, r);
      const v = fused ? q : randn(rows * s.v.stride, r);
      const C = s.NH * s.D;
      const G = randn(rows * C, r), out = F(rows * C), lse = F(s.B * s.NH * s.T);
      const loss = () => (attentionForward(out, lse, q, k, v, s), dot(out, G));
      loss();
      const dq = F(q.length), dk = fused ? dq : F(k.length), dv = fused ? dq : F(v.length);
      attentionBackward(dq, dk, dv, G, q, k, v, out, lse, s);
      expect(maxRelError(dq, numericGrad(q, loss))).toBeLessThan(TOL);
      if (!fused) {
        expect(maxRelError(dk, numericGrad(k, loss))).toBeLessThan(TOL);
        expect(maxRelError(dv, numericGrad(v, loss))).toBeLessThan(TOL);
      }
    });
  }

  it('attention is causal: a later token does not change an earlier output', () => {
    const r = rng(8);
    const s: AttentionShape = { B: 1, T: 4, NH: 1, NKV: 1, D: 2, q: { stride: 2, offset: 0 }, k: { stride: 2, offset: 0 }, v: { stride: 2, offset: 0 } };
    const q = randn(8, r), k = randn(8, r), v = randn(8, r), o1 = F(8), o2 = F(8), lse = F(4);
    attentionForward(o1, lse, q, k, v, s);
    k[7] += 1;
    v[6] += 1;
    attentionForward(o2, lse, q, k, v, s);
    expect(Array.from(o2.subarray(0, 6))).toEqual(Array.from(o1.subarray(0, 6)));
    expect(() => attentionForward(o1, lse, q, k, v, { ...s, NH: 3, NKV: 2 })).toThrow(/not a multiple/);
  });

  it('attention with a KV cache equals the matching rows of full attention', () => {
    const r = rng(10);
    const T = 6, D = 4, NH = 2, NKV = 1, cap = 9;
    const full: AttentionShape = { B: 1, T, NH, NKV, D, q: { stride: NH * D, offset: 0 }, k: { stride: NKV * D, offset: 0 }, v: { stride: NKV * D, offset: 0 } };
    const q = randn(T * NH * D, r), k = randn(T * NKV * D, r), v = randn(T * NKV * D, r);
    const out = F(T * NH * D), lse = F(NH * T);
    attentionForward(out, lse, q, k, v, full);
    // Last 2 queries against a cache of capacity 9 holding all 6 keys.
    const kc = F(cap * NKV * D), vc = F(cap * NKV * D);
    kc.set(k);
    vc.set(v);
    const cached: AttentionShape = { ...full, T: 2, kvT: cap, pos0: 4 };
    const o2 = F(2 * NH * D), l2 = F(NH * 2);
    attentionForward(o2, l2, q.subarray(4 * NH * D), kc, vc, cached);
    expect(maxRelError(o2, out.subarray(4 * NH * D))).toBeLessThan(1e-12);
    expect(() => attentionForward(o2, l2, q, kc, vc, { ...cached, pos0: 8 })).toThrow(/do not fit 9/);
  });

  it('copyRows places a strided column block at rows r0.. of each batch entry', () => {
    const x = Float64Array.from({ length: 2 * 3 * 5 }, (_, i) => i);
    const out = F(2 * 4 * 2);
    copyRows(out, x, { B: 2, T: 3, width: 2, inStride: 5, inOffset: 1, outRows: 4, r0: 1, outStride: 2, outOffset: 0 });
    expect(Array.from(out)).toEqual([0, 0, 1, 2, 6, 7, 11, 12, 0, 0, 16, 17, 21, 22, 26, 27]);
  });

  it('copyRows backward against finite differences', () => {
    const r = rng(12);
    const s = { B: 2, T: 3, width: 2, inStride: 5, inOffset: 1, outRows: 4, r0: 1, outStride: 3, outOffset: 1 };
    const x = randn(30, r), G = randn(24, r), out = F(24), dx = F(30);
    copyRowsBackward(dx, G, s);
    expect(maxRelError(dx, numericGrad(x, () => (out.fill(0), copyRows(out, x, s), dot(out, G))))).toBeLessThan(TOL);
  });

  it('cross-entropy: dlogits with masked tokens, and the mean over unmasked ones', () => {
    const r = rng(9);
    const s = { N: 4, V: 6, count: 3 };
    const logits = randn(24, r, 3);
    const targets = [2, -100, 5, 0];
    const losses = F(4);
    const loss = () => crossEntropyForward(losses, logits, targets, s);
    const dl = F(24);
    const mean = crossEntropyBackward(dl, losses, logits, targets, s);
    expect(mean).toBeCloseTo((losses[0] + losses[2] + losses[3]) / 3, 12);
    expect(losses[1]).toBe(0);
    expect(maxRelError(dl, numericGrad(logits, loss))).toBeLessThan(TOL);
    expect(() => crossEntropyForward(losses, logits, [1, 2, 3, 4], s)).toThrow(/count 3 but 4/);
    expect(() => crossEntropyForward(losses, logits, [1, 2, 6, -1], s)).toThrow(/target 6 at token 2/);
  });

  it('adamw matches a hand-computed first step; clipping scales the gradient', () => {
    const p = Float64Array.from([1, -2]), m = F(2), v = F(2);
    adamwUpdate(p, m, v, Float64Array.from([0.5, -0.1]), null, { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, step: 1 }, 2);
    // Step 1: mhat = g, vhat = g², update = sign(g) (up to eps) + wd·p.
    expect(p[0]).toBeCloseTo(1 - 0.1 * (1 + 0.01), 6);
    expect(p[1]).toBeCloseTo(-2 - 0.1 * (-1 - 0.02), 6);
    expect(clipScale(10, 1)).toBeCloseTo(0.1, 6);
    expect(clipScale(0.5, 1)).toBe(1);
    const out = F(1);
    reduceSum(out, [Float64Array.from([3]), Float64Array.from([4])], { square: true, sqrt: true });
    expect(out[0]).toBe(5);
  });
});
