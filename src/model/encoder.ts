// A BERT sentence encoder on the GPU (the intuition's instance embeddings, METHOD.md §2):
// f32 weights uploaded tensor by tensor, and one forward per padded batch built from the
// existing kernels: embeddings (word + position + token type 0) → LayerNorm → post-LN blocks
// (bidirectional attention with the key padding mask, residual, LayerNorm; intermediate dense,
// GELU, output dense, residual, LayerNorm) → mask-weighted mean pooling → L2 normalisation.
// Forward only: it embeds, it is never trained. Float64 twin: src/reference/encoder.ts.
import type { Engine } from '../gpu/engine.ts';
import { matmulForward } from '../ops/matmul.ts';
import { embeddingForward } from '../ops/embedding.ts';
import { layernormForward } from '../ops/norm.ts';
import { attentionForward } from '../ops/attention.ts';
import { geluErfForward, geluForward } from '../ops/activation.ts';
import { meanPoolForward } from '../ops/pool.ts';
import type { ModelSpec } from './config.ts';
import type { EncoderLayout, Linear, Norm } from './layout.ts';
import { planMemory, readTensor, type MemoryPlan, type OpenedEncoder } from './load.ts';
import { padSequences } from './padding.ts';
import type { UploadProgress } from './gpuModel.ts';

/** The GPU buffer holding position rows with token-type row 0 folded in (pos[t] + type[0]). */
const POS_TYPE0 = 'embeddings.position_embeddings.weight+token_type_embeddings.weight[0]';

export class GpuEncoder {
  readonly spec: ModelSpec;
  readonly layout: EncoderLayout;
  /** maxTokens: most B·T one pass can hold on this device. */
  readonly plan: MemoryPlan;
  private readonly engine: Engine;
  private readonly w: Map<string, GPUBuffer>;

  private constructor(engine: Engine, opened: OpenedEncoder, plan: MemoryPlan, weights: Map<string, GPUBuffer>) {
    this.engine = engine;
    this.spec = opened.spec;
    this.layout = opened.layout;
    this.plan = plan;
    this.w = weights;
  }

  /**
   * Plans memory against the device limits (throwing before any allocation), then uploads. Every
   * sentence is one segment (token type 0), so position rows and token-type row 0 are summed once
   * here and the embedding kernel adds word + (position + type) per token.
   */
  static async load(engine: Engine, opened: OpenedEncoder, onProgress?: (p: UploadProgress) => void): Promise<GpuEncoder> {
    if (opened.spec.kind !== 'encoder') throw new Error(`GpuEncoder: ${opened.spec.modelType} is not a sentence encoder`);
    const plan = planMemory(opened, engine.ctx.limits);
    const L = opened.layout, C = opened.spec.hidden;
    const names = [...L.shapes.keys()];
    const weights = new Map<string, GPUBuffer>();
    let bytes = 0;
    try {
      for (const [i, name] of names.entries()) {
        if (name !== L.pos && name !== L.tokenType) {
          const data = await readTensor(opened, name);
          weights.set(name, engine.createBuffer(name, data));
          bytes += data.byteLength;
        }
        onProgress?.({ tensor: name, done: i + 1, total: names.length, bytes });
      }
      const pos = await readTensor(opened, L.pos), type0 = (await readTensor(opened, L.tokenType)).subarray(0, C);
      for (let r = 0; r < pos.length / C; r++) for (let c = 0; c < C; c++) pos[r * C + c] += type0[c];
      weights.set(POS_TYPE0, engine.createBuffer(POS_TYPE0, pos));
    } catch (e) {
      for (const b of weights.values()) b.destroy();
      throw e;
    }
    return new GpuEncoder(engine, opened, plan, weights);
  }

  private W(name: string): GPUBuffer {
    const b = this.w.get(name);
    if (!b) throw new Error(`GpuEncoder: no weight ${name}`);
    return b;
  }

  private linear(out: GPUBuffer, x: GPUBuffer, l: Linear, N: number, accumulate = false): void {
    matmulForward(this.engine, out, x, this.W(l.w), l.b ? this.W(l.b) : null, { M: N, N: l.out, K: l.in, transB: l.outIn }, accumulate);
  }

  private norm(out: GPUBuffer, x: GPUBuffer, n: Norm, N: number, stats: { mean: GPUBuffer; rstd: GPUBuffer }): void {
    layernormForward(this.engine, out, stats.mean, stats.rstd, x, this.W(n.w), this.W(n.b!), { N, C: this.spec.hidden, eps: this.spec.normEps });
  }

  /**
   * Sentence embeddings (B, C), mean-pooled over each sequence's tokens and L2-normalised, of one
   * batch of token-id sequences (special tokens included), padded here to the longest with the
   * key padding mask. Each sequence must fit the model's positions.
   */
  async embed(seqs: readonly (readonly number[])[]): Promise<Float32Array> {
    const e = this.engine, s = this.spec, C = s.hidden, NH = s.heads, D = s.headDim, I = s.intermediate;
    if (!seqs.length) return new Float32Array(0);
    seqs.forEach((q, n) => {
      if (!q.length) throw new RangeError(`embed: sequence ${n} is empty`);
      if (q.length > s.maxPositions) throw new RangeError(`embed: sequence ${n} has ${q.length} tokens, more than the encoder's ${s.maxPositions} positions`);
      for (const id of q) if (!(Number.isInteger(id) && id >= 0 && id < s.vocabSize)) throw new RangeError(`embed: token id ${id} is outside the vocabulary [0, ${s.vocabSize})`);
    });
    const batch = padSequences(seqs, 0);
    const { B, T } = batch, N = B * T;
    if (N > this.plan.maxTokens) throw new RangeError(`embed: a batch of ${B} x ${T} tokens exceeds the ${this.plan.maxTokens} this GPU's binding limit allows per pass`);
    if (B > 65535) throw new RangeError(`embed: at most 65535 sequences per batch, got ${B}`);

    const ids = e.scratch('enc.ids', batch.ids), mask = e.scratch('enc.mask', batch.mask);
    const x = e.scratch('enc.x', N * C * 4), h = e.scratch('enc.h', N * C * 4);
    const q = e.scratch('enc.q', N * C * 4), k = e.scratch('enc.k', N * C * 4), v = e.scratch('enc.v', N * C * 4), att = e.scratch('enc.att', N * C * 4);
    const lse = e.scratch('enc.lse', B * NH * T * 4);
    const mlpA = e.scratch('enc.mlp.a', N * I * 4), mlpB = e.scratch('enc.mlp.b', N * I * 4);
    const stats = { mean: e.scratch('enc.norm.mean', N * 4), rstd: e.scratch('enc.norm.rstd', N * 4) };
    const rows = { stride: C, offset: 0 };
    const act = s.activation === 'gelu_erf' ? geluErfForward : s.activation === 'gelu_tanh' ? geluForward : null;
    if (!act) throw new Error(`GpuEncoder: activation ${s.activation} is not a BERT activation`);

    embeddingForward(e, x, ids, this.W(this.layout.embed), this.W(POS_TYPE0), { B, T, C, V: s.vocabSize });
    this.norm(h, x, this.layout.embedNorm, N, stats);
    // The stream lives in h between blocks; x holds it between the two halves of a block.
    for (const blk of this.layout.blocks) {
      this.linear(q, h, blk.q, N);
      this.linear(k, h, blk.k, N);
      this.linear(v, h, blk.v, N);
      attentionForward(e, att, lse, q, k, v, { B, T, NH, NKV: NH, D, q: rows, k: rows, v: rows, causal: false }, mask);
      this.linear(h, att, blk.o, N, true); // h += att·Wo + bo
      this.norm(x, h, blk.attnNorm, N, stats);
      this.linear(mlpA, x, blk.fc, N);
      act(e, mlpB, mlpA, N * I);
      this.linear(x, mlpB, blk.proj, N, true); // x += gelu(·)·W2 + b2
      this.norm(h, x, blk.mlpNorm, N, stats);
    }
    const out = e.scratch('enc.out', B * C * 4);
    meanPoolForward(e, out, h, mask, { B, T, C });
    return (await e.read(out, B * C * 4)).slice();
  }

  /**
   * Embeddings (N, C) of any number of sequences, in their order: sorted by length so that each
   * batch pads little, at most `batchSize` sequences and the device's token budget per pass.
   */
  async embedAll(seqs: readonly (readonly number[])[], batchSize = 32): Promise<Float32Array> {
    if (!(Number.isInteger(batchSize) && batchSize >= 1)) throw new RangeError(`embedAll: batchSize must be a positive integer, got ${batchSize}`);
    const C = this.spec.hidden;
    const out = new Float32Array(seqs.length * C);
    const order = seqs.map((_, i) => i).sort((a, b) => seqs[b].length - seqs[a].length || a - b);
    for (let i = 0; i < order.length; ) {
      const T = Math.max(1, seqs[order[i]].length); // the longest of this batch
      const n = Math.max(1, Math.min(batchSize, Math.floor(this.plan.maxTokens / T), order.length - i));
      const idx = order.slice(i, i + n);
      const emb = await this.embed(idx.map((j) => seqs[j]));
      idx.forEach((j, r) => out.set(emb.subarray(r * C, (r + 1) * C), j * C));
      i += n;
    }
    return out;
  }

  destroy(): void {
    for (const b of this.w.values()) b.destroy();
  }
}
