// The BERT sentence encoder on WebGPU: parity of its new kernel paths with their float64
// references (exact GELU forward and backward, bidirectional attention with a key padding mask,
// mean pooling), outputs poisoned with NaN first; then the tiny-bert fixture through the app's
// worker (window.mor1e.loadEncoder / embedTexts) against PyTorch's golden embeddings, padding
// invariance, the hub source, and the refusals (a BERT as a causal LM, a causal LM as an encoder).
import { test, expect } from './fixtures.ts';
import type { Page } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { f32, maxRelError, rand32, seeded, u32 } from './util.ts';
import type { KernelInput } from './harness/api.ts';
import { StudioPage } from './pages.ts';
import { geluErfBackward, geluErfForward } from '../src/reference/activation.ts';
import { attentionForward, NO_KEYS_LSE, type AttentionShape } from '../src/reference/attention.ts';
import { meanPoolForward, type PoolShape } from '../src/reference/pool.ts';

const TOL = 1e-5;
const F = (n: number) => new Float64Array(n);
const HUB = `http://127.0.0.1:${process.env.MOR1E_HUB_PORT ?? 5175}`;
const BERT = '/e2e/fixtures/models/tiny-bert/';
const golden = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', 'models', 'tiny-bert', 'golden.json'), 'utf8')) as {
  texts: string[];
  hidden: number;
  embeddings: number[];
};
/** Lengths → a (B, T) key mask of 1s then 0s. */
const maskOf = (lengths: number[], T: number) => lengths.flatMap((n) => Array.from({ length: T }, (_, t) => (t < n ? 1 : 0)));

test.afterEach(async ({ gpu }) => {
  await gpu.expectNoGpuErrors();
});

test.describe('exact GELU (erf) kernel', () => {
  for (const n of [1, 37, 20_000]) {
    test(`forward and backward n=${n}`, async ({ gpu }) => {
      const r = seeded(`gelu-erf${n}`);
      const x = rand32(n, r, 6), dout = rand32(n, r);
      const out = F(n), dx = F(n);
      geluErfForward(out, x, n);
      geluErfBackward(dx, dout, x, n);
      const a = await gpu.run({ op: 'geluErfForward', inputs: { x: f32(x) }, outputs: { out: { length: n } }, args: { n } });
      expect(maxRelError(a.out, out)).toBeLessThan(TOL);
      const b = await gpu.run({ op: 'geluErfBackward', inputs: { dout: f32(dout), x: f32(x) }, outputs: { dx: { length: n } }, args: { n } });
      expect(maxRelError(b.dx, dx)).toBeLessThan(TOL);
      const init = rand32(n, r);
      const c = await gpu.run({ op: 'geluErfBackward', inputs: { dout: f32(dout), x: f32(x) }, outputs: { dx: { length: n, init: Array.from(init) } }, args: { n, accumulate: true } });
      geluErfBackward(init, dout, x, n, true);
      expect(maxRelError(c.dx, init)).toBeLessThan(TOL);
    });
  }

  test('the erfc approximation: within 1e-6 over [-10, 10], and relative accuracy kept in the negative tail', async ({ gpu }) => {
    const n = 4001;
    const x = Float64Array.from(Float32Array.from({ length: n }, (_, i) => -10 + (20 * i) / (n - 1)));
    const want = F(n);
    geluErfForward(want, x, n);
    const got = (await gpu.run({ op: 'geluErfForward', inputs: { x: f32(x) }, outputs: { out: { length: n } }, args: { n } })).out;
    const err = maxRelError(got, want);
    console.log(`[gelu-erf] max error over [-10, 10] (relative, floor 1): ${err.toExponential(2)}`);
    expect(err).toBeLessThan(1e-6);
    // x in [-6, -2]: gelu is -5.9e-9 .. -0.045; the error stays relative (no 1 - erf cancellation).
    const tail = [...x.keys()].filter((i) => x[i] >= -6 && x[i] <= -2);
    const tailErr = maxRelError(tail.map((i) => got[i]), tail.map((i) => want[i]), 1e-30);
    console.log(`[gelu-erf] max relative error over [-6, -2]: ${tailErr.toExponential(2)}`);
    expect(tailErr).toBeLessThan(1e-5);
  });
});

test.describe('bidirectional attention with a key padding mask (forward)', () => {
  const sep = (NH: number, NKV: number, D: number) => ({ q: { stride: NH * D, offset: 0 }, k: { stride: NKV * D, offset: 0 }, v: { stride: NKV * D, offset: 0 } });
  const fused = (NH: number, D: number) => ({ q: { stride: 3 * NH * D, offset: 0 }, k: { stride: 3 * NH * D, offset: NH * D }, v: { stride: 3 * NH * D, offset: 2 * NH * D } });
  const cases: Array<[string, AttentionShape, number[] | null]> = [
    ['tiny B=1 T=1 NH=1 D=1', { B: 1, T: 1, NH: 1, NKV: 1, D: 1, ...sep(1, 1, 1), causal: false }, [1]],
    ['odd GQA B=3 T=7 NH=3 NKV=1 D=13, lengths 7, 4, 1', { B: 3, T: 7, NH: 3, NKV: 1, D: 13, ...sep(3, 1, 13), causal: false }, maskOf([7, 4, 1], 7)],
    ['fused qkv B=2 T=19 NH=2 D=16, no mask', { B: 2, T: 19, NH: 2, NKV: 2, D: 16, ...fused(2, 16), causal: false }, null],
    ['key chunks B=2 T=300 NH=4 NKV=2 D=8, lengths 300, 257', { B: 2, T: 300, NH: 4, NKV: 2, D: 8, ...sep(4, 2, 8), causal: false }, maskOf([300, 257], 300)],
    ['causal with a mask with holes B=2 T=9 NH=2 D=5', { B: 2, T: 9, NH: 2, NKV: 2, D: 5, ...sep(2, 2, 5) }, [0, 0, 1, 1, 1, 0, 1, 1, 1, /* b1 */ 1, 1, 1, 1, 1, 1, 1, 0, 0]],
    ['an entry with every key masked B=2 T=5 NH=2 D=4', { B: 2, T: 5, NH: 2, NKV: 2, D: 4, ...sep(2, 2, 4), causal: false }, maskOf([3, 0], 5)],
  ];
  // Both work splits: a workgroup per query (the GPU's) and an invocation per query (SwiftShader's).
  for (const [name, s, mask] of cases) for (const split of ['workgroup', 'rows'] as const) {
    test(`${name}, ${split}`, async ({ gpu }) => {
      const r = seeded(name);
      const rows = s.B * s.T;
      const isFused = s.k.offset > 0;
      const q = rand32(rows * s.q.stride, r, 2);
      const k = isFused ? q : rand32(rows * s.k.stride, r, 2);
      const v = isFused ? q : rand32(rows * s.v.stride, r);
      const out = F(rows * s.NH * s.D), lse = F(s.B * s.NH * s.T);
      attentionForward(out, lse, q, k, v, s, mask);
      const inputs: Record<string, KernelInput> = isFused ? { q: f32(q) } : { q: f32(q), k: f32(k), v: f32(v) };
      if (mask) inputs.keyMask = u32(mask);
      const a = await gpu.run({ op: 'attentionForward', inputs, outputs: { out: { length: out.length }, lse: { length: lse.length } }, args: { shape: s, split } });
      expect(maxRelError(a.out, out)).toBeLessThan(TOL);
      expect(maxRelError(a.lse, lse)).toBeLessThan(TOL);
      if (name.startsWith('an entry with every key masked')) {
        expect(a.out.slice(20 * 2)).toEqual(new Array(20 * 2).fill(0)); // batch entry 1: 5 rows x 8 values
        expect(a.lse.slice(10)).toEqual(new Array(10).fill(Math.fround(NO_KEYS_LSE)));
      }
    });
  }

  test('the backward throws for non-causal attention instead of returning zeros', async ({ gpu }) => {
    const s: AttentionShape = { B: 1, T: 3, NH: 1, NKV: 1, D: 2, ...sep(1, 1, 2), causal: false };
    const z = f32(new Array(6).fill(0));
    await expect(gpu.run({
      op: 'attentionBackward', inputs: { q: z, k: z, v: z, dout: z, out: z, lse: f32([0, 0, 0]) },
      outputs: { dq: { length: 6 }, dk: { length: 6 }, dv: { length: 6 } }, args: { shape: s },
    })).rejects.toThrow(/only causal attention has a backward/);
  });
});

test.describe('mean pooling + L2 normalisation', () => {
  const cases: Array<[PoolShape, number[], boolean]> = [
    [{ B: 1, T: 1, C: 1 }, [1], true],
    [{ B: 3, T: 7, C: 37 }, maskOf([7, 3, 1], 7), true],
    [{ B: 5, T: 50, C: 300 }, maskOf([50, 1, 17, 49, 2], 50), true],
    [{ B: 2, T: 9, C: 65 }, maskOf([4, 9], 9), false],
  ];
  for (const [s, mask, normalize] of cases) {
    test(`B=${s.B} T=${s.T} C=${s.C}${normalize ? '' : ', not normalised'}`, async ({ gpu }) => {
      const r = seeded(`pool${s.C}`);
      const x = rand32(s.B * s.T * s.C, r, 3);
      const out = F(s.B * s.C);
      meanPoolForward(out, x, mask, s, normalize);
      const g = await gpu.run({ op: 'meanPoolForward', inputs: { x: f32(x), mask: u32(mask) }, outputs: { out: { length: out.length } }, args: { shape: s, normalize } });
      expect(maxRelError(g.out, out)).toBeLessThan(TOL);
    });
  }
});

async function openStudio(page: Page): Promise<void> {
  const studio = new StudioPage(page);
  await studio.open();
  await expect(studio.gpuStatus).toHaveAttribute('data-status', 'ready', { timeout: 60_000 });
}

const embed = (page: Page, texts: string[], batchSize?: number) =>
  page.evaluate(async ([t, b]) => Array.from(await window.mor1e!.embedTexts(t as string[], b ? { batchSize: b as number } : undefined)), [texts, batchSize] as const);

test.describe('tiny-bert through the worker', () => {
  test.describe.configure({ mode: 'serial' });

  test('GPU embeddings of the fixture sentences match PyTorch, whatever the batching', async ({ page }) => {
    await openStudio(page);
    const info = await page.evaluate((u) => window.mor1e!.loadEncoder(u), BERT);
    expect(info).toMatchObject({ hidden: 32, layers: 2, maxPositions: 32 });
    const C = golden.hidden;
    const got = await embed(page, golden.texts);
    expect(got.length).toBe(golden.embeddings.length);
    const err = maxRelError(got, golden.embeddings);
    console.log(`[encoder] tiny-bert: max embedding error vs PyTorch ${err.toExponential(2)} (${golden.texts.length} sentences, one padded batch)`);
    expect(err).toBeLessThan(1e-5); // tanh GELU instead of erf would be off by 6e-5
    for (let b = 0; b < golden.texts.length; b++) {
      const norm = Math.hypot(...got.slice(b * C, (b + 1) * C));
      expect(norm).toBeCloseTo(1, 5);
    }
    // Batches of 2 (sorted by length) and of 1: the same embeddings.
    expect(maxRelError(await embed(page, golden.texts, 2), golden.embeddings)).toBeLessThan(1e-5);
    expect(await embed(page, [])).toEqual([]);
    expect(await page.evaluate(() => window.mor1e!.gpuErrors())).toEqual([]);
  });

  test('padding does not change a sentence: alone and in a padded batch give the same embedding', async ({ page }) => {
    await openStudio(page);
    await page.evaluate((u) => window.mor1e!.loadEncoder(u), BERT);
    const C = golden.hidden;
    const batch = await embed(page, golden.texts);
    let worst = 0;
    for (const [b, text] of golden.texts.entries()) {
      const alone = await embed(page, [text]);
      // A long sentence padded next to short ones, and a short one padded to the longest.
      const padded = await embed(page, [golden.texts[5], text, 'a']);
      for (let c = 0; c < C; c++) {
        worst = Math.max(worst, Math.abs(alone[c] - batch[b * C + c]), Math.abs(alone[c] - padded[C + c]));
      }
    }
    console.log(`[encoder] largest difference alone vs padded: ${worst.toExponential(2)}`);
    expect(worst).toBeLessThan(1e-6);
  });

  test('loads from the hub like a model; a BERT is refused as a causal LM and a causal LM as an encoder', async ({ page }) => {
    await openStudio(page);
    await expect(page.evaluate(() => window.mor1e!.embedTexts(['x']))).rejects.toThrow(/No sentence encoder is loaded/);
    const info = await page.evaluate((hubUrl) => window.mor1e!.loadEncoder({ kind: 'hub', repo: 'mor1e-test/tiny-bert', hubUrl }), HUB);
    expect(info.source).toContain('mor1e-test/tiny-bert@main');
    expect(maxRelError(await embed(page, golden.texts), golden.embeddings)).toBeLessThan(1e-5);

    await expect(page.evaluate((u) => window.mor1e!.loadModel(u), BERT)).rejects.toThrow(
      /model_type "bert" is a sentence encoder .*not a causal language model: it cannot generate text or be finetuned/,
    );
    await expect(page.evaluate(() => window.mor1e!.loadEncoder('/e2e/fixtures/models/tiny-gpt2/'))).rejects.toThrow(/is a causal language model, not a sentence encoder/);
    // The failed loads left the encoder in place, and a causal model loads beside it.
    await page.evaluate(() => window.mor1e!.loadModel('/e2e/fixtures/models/tiny-gpt2/'));
    expect(maxRelError(await embed(page, golden.texts), golden.embeddings)).toBeLessThan(1e-5);
    expect(await page.evaluate(() => window.mor1e!.gpuErrors())).toEqual([]);
  });
});
