// A loaded model on the GPU: f32 weight buffers uploaded tensor by tensor (each read from its
// file slice, converted, uploaded, dropped), the forward pass as one list of kernel launches,
// and a KV cache for generation. One sequence per call (the playground and evaluation use it);
// training batches come with the training engine.
import type { Engine } from '../gpu/engine.ts';
import { matmulForward } from '../ops/matmul.ts';
import { embeddingForward } from '../ops/embedding.ts';
import { layernormForward, rmsnormForward } from '../ops/norm.ts';
import { attentionForward } from '../ops/attention.ts';
import { geluForward, swigluForward } from '../ops/activation.ts';
import { ropeForward, ropeTables, type RopeTables } from '../ops/rope.ts';
import { copyRows } from '../ops/copy.ts';
import type { AttentionShape } from '../ops/shapes.ts';
import type { ModelSpec } from './config.ts';
import type { Linear, ModelLayout, Norm } from './layout.ts';
import { planMemory, readTensor, type MemoryPlan, type OpenedModel } from './load.ts';

export interface UploadProgress {
  tensor: string;
  done: number;
  total: number;
  bytes: number;
}

/** Keys and values of every layer for up to `capacity` positions of one sequence. */
export interface KVCache {
  capacity: number;
  /** Positions filled so far. */
  length: number;
  k: GPUBuffer[];
  v: GPUBuffer[];
}

export class GpuModel {
  readonly spec: ModelSpec;
  readonly layout: ModelLayout;
  readonly plan: MemoryPlan;
  private readonly engine: Engine;
  private readonly w: Map<string, GPUBuffer>;
  private readonly rope: RopeTables | null;

  private constructor(engine: Engine, opened: OpenedModel, plan: MemoryPlan, weights: Map<string, GPUBuffer>, rope: RopeTables | null) {
    this.engine = engine;
    this.spec = opened.spec;
    this.layout = opened.layout;
    this.plan = plan;
    this.w = weights;
    this.rope = rope;
  }

  /** Plans memory against the device limits (throwing before any allocation), then uploads. */
  static async load(engine: Engine, opened: OpenedModel, onProgress?: (p: UploadProgress) => void): Promise<GpuModel> {
    const plan = planMemory(opened, engine.ctx.limits);
    const weights = new Map<string, GPUBuffer>();
    const names = [...opened.layout.shapes.keys()];
    let bytes = 0;
    try {
      for (const [i, name] of names.entries()) {
        const data = await readTensor(opened, name);
        weights.set(name, engine.createBuffer(name, data));
        bytes += data.byteLength;
        onProgress?.({ tensor: name, done: i + 1, total: names.length, bytes });
      }
    } catch (e) {
      for (const b of weights.values()) b.destroy();
      throw e;
    }
    const s = opened.spec;
    const rope = s.ropeTheta !== null ? ropeTables(engine, s.maxPositions, s.headDim, s.ropeTheta) : null;
    return new GpuModel(engine, opened, plan, weights, rope);
  }

  /** A frozen base weight on the GPU (canonical name). */
  weight(name: string): GPUBuffer {
    return this.W(name);
  }

  /** RoPE tables (Llama family), null for learned positions. */
  get ropeTables(): RopeTables | null {
    return this.rope;
  }

  private W(name: string): GPUBuffer {
    const b = this.w.get(name);
    if (!b) throw new Error(`GpuModel: no weight ${name}`);
    return b;
  }

  createCache(capacity = this.spec.maxPositions): KVCache {
    if (capacity > this.spec.maxPositions) throw new RangeError(`KV cache of ${capacity} exceeds the model's ${this.spec.maxPositions} positions`);
    const width = this.spec.kvHeads * this.spec.headDim;
    const mk = (kind: string, l: number) => this.engine.createBuffer(`kv.${kind}.${l}`, capacity * width * 4);
    return {
      capacity,
      length: 0,
      k: this.layout.blocks.map((_, l) => mk('k', l)),
      v: this.layout.blocks.map((_, l) => mk('v', l)),
    };
  }

  destroyCache(c: KVCache): void {
    for (const b of [...c.k, ...c.v]) b.destroy();
  }

  private linear(out: GPUBuffer, x: GPUBuffer, l: Linear, T: number, accumulate = false): void {
    matmulForward(this.engine, out, x, this.W(l.w), l.b ? this.W(l.b) : null, { M: T, N: l.out, K: l.in, transB: l.outIn }, accumulate);
  }

  private norm(out: GPUBuffer, x: GPUBuffer, n: Norm, T: number, stats: { mean: GPUBuffer; rstd: GPUBuffer }): void {
    const e = this.engine, s = { N: T, C: this.spec.hidden, eps: this.spec.normEps };
    if (this.spec.norm === 'layernorm') layernormForward(e, out, stats.mean, stats.rstd, x, this.W(n.w), this.W(n.b!), s);
    else rmsnormForward(e, out, stats.rstd, x, this.W(n.w), s);
  }

  /**
   * Records the forward pass of `ids` (positions pos0.. of one sequence) and returns the final
   * hidden states (T, C) in a scratch buffer valid until the next submit. With a cache, keys
   * and values land in it at rows pos0.. and attention reads the cached prefix.
   */
  private hidden(ids: number[], cache: KVCache | null, untilBlock?: number): GPUBuffer {
    const e = this.engine, s = this.spec, T = ids.length, C = s.hidden, D = s.headDim, NH = s.heads, NKV = s.kvHeads;
    const pos0 = cache ? cache.length : 0;
    if (T < 1) throw new RangeError('forward: no tokens');
    if (pos0 + T > s.maxPositions) throw new RangeError(`forward: ${pos0 + T} positions exceed the model's ${s.maxPositions}`);
    if (T > this.plan.maxTokens) throw new RangeError(`forward: ${T} tokens exceed the ${this.plan.maxTokens} this GPU's binding limit allows per pass`);
    for (const id of ids) if (!(Number.isInteger(id) && id >= 0 && id < s.vocabSize)) throw new RangeError(`forward: token id ${id} is outside the vocabulary [0, ${s.vocabSize})`);
    if (cache && pos0 + T > cache.capacity) throw new RangeError(`forward: the KV cache holds ${cache.capacity} positions, ${pos0 + T} needed`);

    const x = e.scratch('x', T * C * 4);
    embeddingForward(e, x, e.scratch('ids', Uint32Array.from(ids)), this.W(this.layout.embed), this.layout.pos ? this.W(this.layout.pos) : null, { B: 1, T, C, V: s.vocabSize, pos0 });
    const h = e.scratch('h', T * C * 4);
    const att = e.scratch('att', T * NH * D * 4);
    const lse = e.scratch('lse', NH * T * 4);
    const kvW = NKV * D, I = s.intermediate;
    const stats = { mean: e.scratch('norm.mean', T * 4), rstd: e.scratch('norm.rstd', T * 4) };
    const rows = (stride: number, offset = 0) => ({ stride, offset });
    // Activations, allocated once per pass and reused by every layer.
    const gpt2 = this.layout.blocks[0]?.qkv !== null;
    const qkv = gpt2 ? e.scratch('qkv', T * 3 * C * 4) : null;
    const qr = gpt2 ? null : e.scratch('q.raw', T * NH * D * 4), kr = gpt2 ? null : e.scratch('k.raw', T * kvW * 4);
    const qb = gpt2 ? null : e.scratch('q', T * NH * D * 4), kb = gpt2 ? null : e.scratch('k', T * kvW * 4), vb = gpt2 ? null : e.scratch('v', T * kvW * 4);
    const mlpA = e.scratch('mlp.a', T * I * 4), mlpB = e.scratch('mlp.b', T * I * 4), mlpC = gpt2 ? null : e.scratch('mlp.c', T * I * 4);
    for (const [l, blk] of this.layout.blocks.entries()) {
      if (untilBlock !== undefined && l > untilBlock) break;
      this.norm(h, x, blk.norm1, T, stats);
      let shape: AttentionShape;
      let q: GPUBuffer, k: GPUBuffer, v: GPUBuffer;
      if (blk.qkv) {
        this.linear(qkv!, h, blk.qkv, T);
        q = k = v = qkv!;
        shape = { B: 1, T, NH, NKV, D, q: rows(3 * C), k: rows(3 * C, C), v: rows(3 * C, 2 * C) };
      } else {
        q = qb!;
        k = kb!;
        v = vb!;
        this.linear(qr!, h, blk.q!, T);
        this.linear(kr!, h, blk.k!, T);
        this.linear(v, h, blk.v!, T);
        ropeForward(e, q, qr!, this.rope!, { B: 1, T, H: NH, D, theta: s.ropeTheta!, pos0 });
        ropeForward(e, k, kr!, this.rope!, { B: 1, T, H: NKV, D, theta: s.ropeTheta!, pos0 });
        shape = { B: 1, T, NH, NKV, D, q: rows(NH * D), k: rows(kvW), v: rows(kvW) };
      }
      if (cache) {
        const copy = (dst: GPUBuffer, src: GPUBuffer, layout: { stride: number; offset: number }) =>
          copyRows(e, dst, src, { B: 1, T, width: kvW, inStride: layout.stride, inOffset: layout.offset, outRows: cache.capacity, r0: pos0, outStride: kvW, outOffset: 0 });
        copy(cache.k[l], k, shape.k);
        copy(cache.v[l], v, shape.v);
        k = cache.k[l];
        v = cache.v[l];
        shape = { ...shape, k: rows(kvW), v: rows(kvW), kvT: cache.capacity, pos0 };
      }
      attentionForward(e, att, lse, q, k, v, shape);
      this.linear(x, att, blk.o, T, true); // residual: x += att·Wo + bo
      this.norm(h, x, blk.norm2, T, stats);
      if (blk.fc) {
        this.linear(mlpA, h, blk.fc, T);
        geluForward(e, mlpB, mlpA, T * I);
        this.linear(x, mlpB, blk.proj!, T, true);
      } else {
        this.linear(mlpA, h, blk.gate!, T);
        this.linear(mlpB, h, blk.up!, T);
        swigluForward(e, mlpC!, mlpA, mlpB, T * I);
        this.linear(x, mlpC!, blk.down!, T, true);
      }
    }
    if (untilBlock !== undefined && untilBlock < this.layout.blocks.length) return x;
    const xf = e.scratch('x.final', T * C * 4);
    this.norm(xf, x, this.layout.finalNorm, T, stats);
    if (cache) cache.length = pos0 + T;
    return xf;
  }

  private head(out: GPUBuffer, xf: GPUBuffer, rowsN: number): void {
    matmulForward(this.engine, out, xf, this.W(this.layout.head), null, { M: rowsN, N: this.spec.vocabSize, K: this.spec.hidden, transB: true });
  }

  /** Logits (T, V) of every position of one sequence. */
  async logits(ids: number[]): Promise<Float32Array> {
    const e = this.engine;
    const xf = this.hidden(ids, null);
    const out = e.scratch('logits', ids.length * this.spec.vocabSize * 4);
    this.head(out, xf, ids.length);
    return (await e.read(out, ids.length * this.spec.vocabSize * 4)).slice();
  }

  /**
   * Mean-pooled hidden states of several prompts, one row (C) each: the residual stream after
   * block `layer` (0-based), or the final normed states when `layer` equals the block count.
   * Every prompt runs alone (B = 1, so there is no padding to exclude), all in one submission;
   * the mean over a prompt's T rows is one matmul of a 1/T row against its states.
   */
  async pooledHidden(prompts: number[][], layer: number): Promise<Float32Array> {
    const e = this.engine, C = this.spec.hidden, L = this.layout.blocks.length;
    if (!(Number.isInteger(layer) && layer >= 0 && layer <= L)) throw new RangeError(`pooledHidden: layer must be an integer in [0, ${L}], got ${layer}`);
    const out = e.scratch('pooled', prompts.length * C * 4);
    prompts.forEach((ids, i) => {
      const T = ids.length;
      const states = this.hidden(ids, null, layer < L ? layer : undefined);
      const row = e.scratch('pooled.row', C * 4);
      matmulForward(e, row, e.scratch('pool.weights', new Float32Array(T).fill(1 / T)), states, null, { M: 1, N: C, K: T });
      e.copy(row, out, C * 4, 0, i * C * 4);
    });
    return (await e.read(out, prompts.length * C * 4)).slice();
  }

  /** Feeds `ids` after what the cache holds and returns the logits (V) of the last position. */
  async nextLogits(ids: number[], cache: KVCache): Promise<Float32Array> {
    const e = this.engine, C = this.spec.hidden;
    const xf = this.hidden(ids, cache);
    const last = e.scratch('x.last', C * 4);
    e.copy(xf, last, C * 4, (ids.length - 1) * C * 4, 0);
    const out = e.scratch('logits.last', this.spec.vocabSize * 4);
    this.head(out, last, 1);
    return (await e.read(out, this.spec.vocabSize * 4)).slice();
  }

  destroy(): void {
    for (const b of this.w.values()) b.destroy();
    this.rope?.cos.destroy();
    this.rope?.sin.destroy();
  }
}
