// A loaded model on the GPU: f32 weight buffers uploaded tensor by tensor (each read from its
// file slice, converted, uploaded, dropped), passes over it (src/model/forward.ts: the shared
// block schedule on GPU buffers, with or without an adapter), and a KV cache for generation.
import type { Engine } from '../gpu/engine.ts';
import { meanPoolForward } from '../ops/pool.ts';
import { ropeTables, type RopeTables } from '../ops/rope.ts';
import { GpuPass, type AdapterHook, type PassOptions } from './forward.ts';
import type { ModelSpec } from './config.ts';
import type { ModelLayout } from './layout.ts';
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

  /** A pass over B sequences of T tokens (see GpuPass): inference, evaluation or training. */
  pass(o: PassOptions): GpuPass {
    return new GpuPass(this.engine, this, o);
  }

  /** Logits (T, V) of every position of one sequence (through an adapter when given). */
  async logits(ids: number[], adapters: AdapterHook | null = null): Promise<Float32Array> {
    const p = this.pass({ B: 1, T: ids.length, adapters });
    const out = p.head(p.run(ids).xf!, ids.length);
    return (await this.engine.read(out, ids.length * this.spec.vocabSize * 4)).slice();
  }

  /**
   * Logits (n x V) of the next token after each of n sequences, right-padded into batches of at
   * most the pass's token limit (causal attention: padding after a sequence never reaches its
   * real tokens). Evaluation and generation without a cache.
   */
  async nextLogitsBatch(seqs: number[][], adapters: (B: number, T: number, first: number) => AdapterHook | null = () => null): Promise<Float32Array> {
    const e = this.engine, C = this.spec.hidden, V = this.spec.vocabSize;
    if (!seqs.length || seqs.some((q) => !q.length)) throw new Error('nextLogits: every sequence needs at least one token');
    const out = new Float32Array(seqs.length * V);
    for (const [first, group] of this.groups(seqs)) {
      const B = group.length, T = Math.max(...group.map((q) => q.length));
      const ids = new Array<number>(B * T).fill(0);
      group.forEach((q, b) => q.forEach((id, i) => (ids[b * T + i] = id)));
      const p = this.pass({ B, T, adapters: adapters(B, T, first) });
      const xf = p.run(ids).xf!;
      const last = e.scratch('x.last', B * C * 4);
      group.forEach((q, b) => e.copy(xf, last, C * 4, (b * T + q.length - 1) * C * 4, b * C * 4));
      out.set(await e.read(p.head(last, B, 'logits.last'), B * V * 4), first * V);
    }
    return out;
  }

  /** Consecutive runs of sequences whose padded batch fits one pass: [index of the first, sequences]. */
  private groups(seqs: number[][]): Array<[number, number[][]]> {
    const out: Array<[number, number[][]]> = [];
    let first = 0, T = 0;
    for (let i = 0; i < seqs.length; i++) {
      const t = Math.max(T, seqs[i].length);
      if (i > first && (i - first + 1) * t > this.plan.maxBatchTokens) {
        out.push([first, seqs.slice(first, i)]);
        first = i;
        T = seqs[i].length;
      } else T = t;
    }
    out.push([first, seqs.slice(first)]);
    return out;
  }

  /**
   * Mean-pooled hidden states of several prompts, one row (C) each: the residual stream after
   * block `layer` (0-based), or the final normed states when `layer` equals the block count.
   * Prompts run right-padded in batches; the pool averages each prompt's real rows only.
   */
  async pooledHidden(prompts: number[][], layer: number): Promise<Float32Array> {
    const e = this.engine, C = this.spec.hidden, L = this.layout.blocks.length;
    if (!(Number.isInteger(layer) && layer >= 0 && layer <= L)) throw new RangeError(`pooledHidden: layer must be an integer in [0, ${L}], got ${layer}`);
    const out = e.scratch('pooled', prompts.length * C * 4);
    for (const [first, group] of this.groups(prompts)) {
      const B = group.length, T = Math.max(...group.map((q) => q.length));
      const ids = new Array<number>(B * T).fill(0), mask = new Uint32Array(B * T);
      group.forEach((q, b) => q.forEach((id, i) => ((ids[b * T + i] = id), (mask[b * T + i] = 1))));
      const r = this.pass({ B, T }).run(ids, layer < L ? layer : undefined);
      const rows = e.scratch('pooled.rows', B * C * 4);
      meanPoolForward(e, rows, r.xf ?? r.x, e.scratch('pool.mask', mask), { B, T, C }, false);
      e.copy(rows, out, B * C * 4, 0, first * C * 4);
    }
    return (await e.read(out, prompts.length * C * 4)).slice();
  }

  /** Feeds `ids` after what the cache holds and returns the logits (V) of the last position. */
  async nextLogits(ids: number[], cache: KVCache, adapters: AdapterHook | null = null): Promise<Float32Array> {
    const e = this.engine, C = this.spec.hidden;
    const p = this.pass({ B: 1, T: ids.length, cache, adapters });
    const xf = p.run(ids).xf!;
    const last = e.scratch('x.last', C * 4);
    e.copy(xf, last, C * 4, (ids.length - 1) * C * 4, 0);
    return (await e.read(p.head(last, 1, 'logits.last'), this.spec.vocabSize * 4)).slice();
  }

  destroy(): void {
    for (const b of this.w.values()) b.destroy();
    this.rope?.cos.destroy();
    this.rope?.sin.destroy();
  }
}
