// The strongest browser peer, @jax-js/jax (JIT-compiled WebGPU kernels with autodiff), in the
// benchmark page beside our kernels: its matmul, and a training step of a GPT-2 with T-REX
// adapters (../shared/METHOD.md, dense routing) written with jax-js's `valueAndGrad` and `jit`.
//
// jax-js's init() requests its own GPUDevice from navigator.gpu (high-performance adapter, the
// same request our acquireDevice makes), so both run on the same adapter in the same page, each
// on its own GPUDevice; on SwiftShader both share the same CPU threads. Loaded only when a
// benchmark asks for it, so the other benchmarks see one device.
//
// The peer's step mirrors ours: GPT-2 forward (learned positions, pre-LayerNorm blocks, fused
// c_attn, causal attention, gelu_new MLP, tied head) with a T-REX adapter on every linear layer
// (c_attn, attn.c_proj, mlp.c_fc, mlp.c_proj), masked mean cross-entropy, the gradient with
// respect to the adapter tensors only (the base weights are arguments that are not
// differentiated), the global gradient-norm clip and AdamW (PyTorch's, as src/reference/optim.ts),
// all inside one `jit`. jax-js has no LayerNorm: it is written from mean / reciprocal / sqrt.
// Not mirrored: our optimiser guard (a non-finite loss skips the update), which does no
// arithmetic worth counting.
import { defaultDevice, getWebGPUDevice, init, jit, nn, numpy as np, tree, valueAndGrad } from '@jax-js/jax';
import type { ModelSpec } from '../src/model/config.ts';
import type { ModelLayout } from '../src/model/layout.ts';
import type { MatmulBenchShape } from './matmul.ts';
import { randomData } from './matmul.ts';
import { timeRuns, type Timing } from './timing.ts';

type JArray = np.Array;

let ready: Promise<string> | null = null;

/** Starts jax-js's WebGPU backend once and makes it the default device; its adapter's name. */
export function initJax(): Promise<string> {
  ready ??= (async () => {
    const devices = await init('webgpu');
    if (!devices.includes('webgpu')) throw new Error('jax-js: no WebGPU backend in this browser');
    defaultDevice('webgpu');
    const info = getWebGPUDevice().adapterInfo;
    return [info?.vendor, info?.architecture, info?.device, info?.description].filter(Boolean).join(' / ');
  })();
  return ready;
}

/** jax-js's C = A·B at one shape: one run = the product, then a real wait for the GPU (a readback's map). */
export async function benchJaxMatmul(s: MatmulBenchShape, runs: number): Promise<Timing> {
  await initJax();
  const a = np.array(randomData(s.M * s.K, 1), { shape: [s.M, s.K] });
  const b = np.array(randomData(s.K * s.N, 2), { shape: [s.K, s.N] });
  const mm = jit((x: JArray, y: JArray) => np.matmul(x, y));
  try {
    await a.blockUntilReady();
    await b.blockUntilReady();
    return await timeRuns(async () => {
      const c = mm(a.ref, b.ref);
      await c.blockUntilReady();
      c.dispose();
    }, { runs });
  } finally {
    a.dispose();
    b.dispose();
    mm.dispose();
  }
}

/** One adapted layer's T-REX tensors, METHOD.md's names and shapes. */
type TrexLayer = { A: JArray; Wr: JArray; B: JArray; wOmega: JArray; wBeta: JArray };
type Params = Record<string, TrexLayer>;
type GptBlock = {
  ln1w: JArray; ln1b: JArray; attnW: JArray; attnB: JArray; projW: JArray; projB: JArray;
  ln2w: JArray; ln2b: JArray; fcW: JArray; fcB: JArray; mprojW: JArray; mprojB: JArray;
};
type GptBase = { wte: JArray; wpe: JArray; lnfw: JArray; lnfb: JArray; blocks: GptBlock[] };

/** Host copies of one layer's adapter tensors (float32), the same values both sides start from. */
export interface HostTrexLayer {
  A: Float32Array; // (r1, n)
  Wr: Float32Array; // (E, n)
  B: Float32Array; // (m, r2)
  wOmega: number;
  wBeta: number;
}

export interface JaxGptStepSetup {
  spec: ModelSpec;
  layout: ModelLayout;
  /** Canonical weight name → f32 values (from our loader, so both sides read the same weights). */
  weights: Map<string, Float32Array>;
  /** Adapted layers by key (`${block}.${kind}`), with their widths. */
  layers: Array<{ key: string; n: number; m: number; init: HostTrexLayer }>;
  r1: number;
  r2: number;
  B: number;
  T: number;
  ids: number[];
  targets: number[];
  /** (B, E) intuition scores per sequence. */
  s: number[];
  hyper: { lr: number; beta1: number; beta2: number; eps: number; weightDecay: number; maxNorm: number };
}

/** A compiled jax-js training step with its state; `step()` runs one and returns loss and gradient norm (before clipping). */
export interface JaxGptTrainer {
  step(): Promise<{ loss: number; gradNorm: number }>;
  /** One step without reading the loss back: only a wait for the new parameters. */
  stepNoRead(): Promise<void>;
  destroy(): void;
}

export async function jaxGptTrainer(o: JaxGptStepSetup): Promise<JaxGptTrainer> {
  await initJax();
  const { spec, layout, B, T, r1, r2 } = o;
  if (spec.arch !== 'gpt2') throw new Error('jaxGptTrainer: a GPT-2 model is needed');
  const C = spec.hidden, H = spec.heads, D = spec.headDim, V = spec.vocabSize, N = B * T, E = r1 * r2, eps = spec.normEps;
  const W = (name: string | null) => {
    const w = name ? o.weights.get(name) : undefined;
    if (!w) throw new Error(`jaxGptTrainer: no weight ${name}`);
    return np.array(w, { shape: layout.shapes.get(name!)! });
  };
  const base: GptBase = {
    wte: W(layout.embed), wpe: W(layout.pos), lnfw: W(layout.finalNorm.w), lnfb: W(layout.finalNorm.b),
    blocks: layout.blocks.map((b) => ({
      ln1w: W(b.norm1.w), ln1b: W(b.norm1.b), attnW: W(b.qkv!.w), attnB: W(b.qkv!.b), projW: W(b.o.w), projB: W(b.o.b),
      ln2w: W(b.norm2.w), ln2b: W(b.norm2.b), fcW: W(b.fc!.w), fcB: W(b.fc!.b), mprojW: W(b.proj!.w), mprojB: W(b.proj!.b),
    })),
  };
  let params: Params = {}, m: Params = {}, v: Params = {};
  for (const l of o.layers) {
    params[l.key] = {
      A: np.array(l.init.A, { shape: [r1, l.n] }), Wr: np.array(l.init.Wr, { shape: [E, l.n] }), B: np.array(l.init.B, { shape: [l.m, r2] }),
      wOmega: np.array([l.init.wOmega]), wBeta: np.array([l.init.wBeta]),
    };
    const zeros = (): TrexLayer => ({ A: np.zeros([r1, l.n]), Wr: np.zeros([E, l.n]), B: np.zeros([l.m, r2]), wOmega: np.zeros([1]), wBeta: np.zeros([1]) });
    m[l.key] = zeros();
    v[l.key] = zeros();
  }
  const ids = np.array(Int32Array.from(o.ids), { dtype: np.int32 });
  const pos = np.array(Int32Array.from({ length: N }, (_, i) => i % T), { dtype: np.int32 });
  // Intuition scores per token (the sequence's row), and the loss weights: one-hot target / count.
  const sRows = np.array(Float32Array.from({ length: N * E }, (_, i) => o.s[Math.floor(Math.floor(i / E) / T) * E + (i % E)]), { shape: [N, E] });
  const count = o.targets.filter((t) => t >= 0).length;
  const tw = new Float32Array(N * V);
  o.targets.forEach((t, i) => t >= 0 && (tw[i * V + t] = 1 / count));
  const targetW = np.array(tw, { shape: [N, V] });

  // Every function below takes ownership of its array arguments (jax-js's rule): an array used
  // again later is passed as `.ref`.
  const layerNorm = (x: JArray, w: JArray, b: JArray) => {
    const xc = x.ref.sub(x.mean(-1, { keepdims: true }));
    const variance = xc.ref.mul(xc.ref).mean(-1, { keepdims: true });
    return xc.mul(np.reciprocal(np.sqrt(variance.add(eps)))).mul(w).add(b);
  };
  /** y = x W0 + bias + sigmoid(100 w_beta) · B (Gᵀ a), G = reshape(32 w p + 4 (1 − w) s, r1 x r2), p = softmax(W_r x), a = A x. */
  const adapted = (x: JArray, W0: JArray, bias: JArray, p: TrexLayer, s: JArray) => {
    const rows = x.shape[0];
    const y0 = np.matmul(x.ref, W0).add(bias);
    const a = np.matmul(x.ref, p.A.transpose());
    const prob = nn.softmax(np.matmul(x, p.Wr.transpose()), -1);
    const w = nn.sigmoid(p.wOmega.mul(100));
    const g = prob.mul(w.ref.mul(32)).add(s.mul(np.subtract(1, w).mul(4)));
    const h = g.reshape([rows, r1, r2]).mul(a.reshape([rows, r1, 1])).sum(1);
    return y0.add(np.matmul(h, p.B.transpose()).mul(nn.sigmoid(p.wBeta.mul(100))));
  };
  const lossFn = (p: Params, bw: GptBase, tok: JArray, posIds: JArray, s: JArray, tgt: JArray): JArray => {
    let x = np.take(bw.wte.ref, tok, 0).add(np.take(bw.wpe, posIds, 0));
    bw.blocks.forEach((b, l) => {
      const qkv = adapted(layerNorm(x.ref, b.ln1w, b.ln1b), b.attnW, b.attnB, p[`${l}.qkv`], s.ref).reshape([B, T, 3, H, D]);
      const att = nn.dotProductAttention(qkv.ref.slice([], [], 0), qkv.ref.slice([], [], 1), qkv.slice([], [], 2), { isCausal: true });
      x = x.add(adapted(att.reshape([N, C]), b.projW, b.projB, p[`${l}.o`], s.ref));
      const u = adapted(layerNorm(x.ref, b.ln2w, b.ln2b), b.fcW, b.fcB, p[`${l}.fc`], s.ref);
      x = x.add(adapted(nn.gelu(u, { approximate: true }), b.mprojW, b.mprojB, p[`${l}.proj`], s.ref));
    });
    s.dispose();
    const logits = np.matmul(layerNorm(x, bw.lnfw, bw.lnfb), bw.wte.transpose());
    return nn.logSoftmax(logits, -1).mul(tgt).sum().mul(-1);
  };
  const { beta1, beta2, eps: adamEps, weightDecay, maxNorm } = o.hyper;
  const trainStep = jit((p: Params, mm: Params, vv: Params, bw: GptBase, tok: JArray, posIds: JArray, s: JArray, tgt: JArray, lrBc1: JArray, invBc2: JArray, lr: JArray) => {
    const [loss, grads] = valueAndGrad(lossFn)(tree.ref(p), bw, tok, posIds, s, tgt);
    const [gs, def] = tree.flatten(grads);
    const ps = tree.leaves(p), ms = tree.leaves(mm), vs = tree.leaves(vv);
    const gradNorm = np.sqrt(gs.map((g) => g.ref.mul(g.ref).sum()).reduce((a, b) => a.add(b)));
    const clip = maxNorm > 0 ? np.minimum(1, np.reciprocal(gradNorm.ref.add(1e-6)).mul(maxNorm)) : np.array(1);
    const np2: JArray[] = [], nm: JArray[] = [], nv: JArray[] = [];
    gs.forEach((g0, i) => {
      const g = g0.mul(clip.ref);
      const m1 = ms[i].mul(beta1).add(g.ref.mul(1 - beta1));
      const v1 = vs[i].mul(beta2).add(g.ref.mul(g).mul(1 - beta2));
      const upd = m1.ref.mul(lrBc1.ref).div(np.sqrt(v1.ref.mul(invBc2.ref)).add(adamEps));
      const stepped = weightDecay ? ps[i].ref.sub(upd).sub(ps[i].mul(lr.ref).mul(weightDecay)) : ps[i].sub(upd);
      np2.push(stepped);
      nm.push(m1);
      nv.push(v1);
    });
    clip.dispose();
    lrBc1.dispose();
    invBc2.dispose();
    lr.dispose();
    return [loss, gradNorm, tree.unflatten(def, np2), tree.unflatten(def, nm), tree.unflatten(def, nv)] as [JArray, JArray, Params, Params, Params];
  });
  let t = 0;
  const once = () => {
    t++;
    const bc1 = 1 - beta1 ** t, bc2 = 1 - beta2 ** t;
    const [loss, gradNorm, p2, m2, v2] = trainStep(params, m, v, tree.ref(base), ids.ref, pos.ref, sRows.ref, targetW.ref, np.array(o.hyper.lr / bc1), np.array(1 / bc2), np.array(o.hyper.lr));
    params = p2;
    m = m2;
    v = v2;
    return { loss, gradNorm };
  };
  return {
    async step() {
      const r = once();
      await tree.leaves(params)[0].blockUntilReady();
      return { loss: (await r.loss.data())[0], gradNorm: (await r.gradNorm.data())[0] };
    },
    async stepNoRead() {
      const r = once();
      // Every output realised (parameters, both moments, loss, norm): the step is complete.
      await Promise.all([r.loss, r.gradNorm, ...tree.leaves([params, m, v])].map((x) => x.blockUntilReady()));
      r.loss.dispose();
      r.gradNorm.dispose();
    },
    destroy() {
      trainStep.dispose();
      tree.dispose([params, m, v, base]);
      for (const a of [ids, pos, sRows, targetW]) a.dispose();
    },
  };
}
