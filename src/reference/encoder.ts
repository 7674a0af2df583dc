// Float64 reference forward of a BERT sentence encoder (HF BertModel + sentence-transformers'
// mean pooling and Normalize), written with the float64 reference ops: the GPU encoder
// (src/model/encoder.ts) must match it, and it must match the PyTorch goldens of
// scripts/make_test_models.py (tiny-bert).
//   x = LN(word[ids] + pos[t] + tokenType[0]);
//   per layer: x = LN(x + Attn(x)) (bidirectional, padded keys masked); x = LN(x + W2·gelu(W1·x));
//   embedding = normalize(mean of x over the real tokens).
import type { ModelSpec } from '../model/config.ts';
import { encoderLayout, type Linear, type Norm } from '../model/layout.ts';
import type { PaddedBatch } from '../model/padding.ts';
import { embeddingForward } from './embedding.ts';
import { layernormForward } from './norm.ts';
import { matmulForward } from './matmul.ts';
import { attentionForward } from './attention.ts';
import { geluErfForward, geluForward } from './activation.ts';
import { addForward } from './elementwise.ts';
import { meanPoolForward } from './pool.ts';
import type { Weights } from './model.ts';

export interface EncoderOutput {
  /** Last hidden states (B, T, C), padded rows included (as HF's last_hidden_state). */
  hidden: Float64Array;
  /** Mean-pooled, L2-normalised sentence embeddings (B, C). */
  embeddings: Float64Array;
}

export function referenceEncoder(spec: ModelSpec, weights: Weights, batch: PaddedBatch): EncoderOutput {
  const L = encoderLayout(spec);
  const W = (name: string): Float64Array => {
    const w = weights.get(name);
    if (!w) throw new Error(`reference encoder: missing weight ${name}`);
    return w;
  };
  const { B, T } = batch;
  const N = B * T, C = spec.hidden, NH = spec.heads, D = spec.headDim, I = spec.intermediate;
  const F = (n: number) => new Float64Array(n);
  const lin = (x: Float64Array, l: Linear) => {
    const out = F(N * l.out);
    matmulForward(out, x, W(l.w), l.b ? W(l.b) : null, { M: N, N: l.out, K: l.in, transB: l.outIn });
    return out;
  };
  const norm = (x: Float64Array, n: Norm) => {
    const out = F(N * C);
    layernormForward(out, F(N), F(N), x, W(n.w), W(n.b!), { N, C, eps: spec.normEps });
    return out;
  };
  const residual = (a: Float64Array, b: Float64Array) => {
    const out = F(N * C);
    addForward(out, a, b, N * C);
    return out;
  };

  const emb = F(N * C);
  embeddingForward(emb, batch.ids, W(L.embed), W(L.pos), { B, T, C, V: spec.vocabSize });
  const type0 = W(L.tokenType).subarray(0, C);
  for (let r = 0; r < N; r++) for (let c = 0; c < C; c++) emb[r * C + c] += type0[c];
  let x = norm(emb, L.embedNorm);
  const rows = { stride: C, offset: 0 };
  for (const blk of L.blocks) {
    const att = F(N * C);
    attentionForward(att, F(B * NH * T), lin(x, blk.q), lin(x, blk.k), lin(x, blk.v), { B, T, NH, NKV: NH, D, q: rows, k: rows, v: rows, causal: false }, batch.mask);
    x = norm(residual(x, lin(att, blk.o)), blk.attnNorm);
    const u = lin(x, blk.fc);
    const g = F(N * I);
    if (spec.activation === 'gelu_erf') geluErfForward(g, u, N * I);
    else if (spec.activation === 'gelu_tanh') geluForward(g, u, N * I);
    else throw new Error(`reference encoder: activation ${spec.activation} is not a BERT activation`);
    x = norm(residual(x, lin(g, blk.proj)), blk.mlpNorm);
  }
  const embeddings = F(B * C);
  meanPoolForward(embeddings, x, batch.mask, { B, T, C });
  return { hidden: x, embeddings };
}
