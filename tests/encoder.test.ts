// The BERT sentence encoder in Node: exact GELU's erf, the non-causal masked attention and the
// pooling references, config normalisation, loading (HF names with or without "bert.", unused
// int64 buffers, refusals), the WordPiece tokenizer, and the float64 reference forward against
// PyTorch's goldens (scripts/make_test_models.py, tiny-bert).
import { describe, expect, it } from 'vitest';
import { erf, erfc, geluErfBackward, geluErfForward } from '../src/reference/activation.ts';
import { attentionBackward, attentionForward, NO_KEYS_LSE, type AttentionShape } from '../src/reference/attention.ts';
import { meanPoolForward } from '../src/reference/pool.ts';
import { referenceEncoder } from '../src/reference/encoder.ts';
import { dot, maxRelError, numericGrad, randn, rng } from '../src/reference/gradcheck.ts';
import { parseModelConfig } from '../src/model/config.ts';
import { openEncoder, openModel, planMemory, readTensor } from '../src/model/load.ts';
import { readSafetensorsHeader, readTensorBytes, writeSafetensors, type TensorToWrite } from '../src/model/safetensors.ts';
import { padSequences } from '../src/model/padding.ts';
import { fixtureBytes, fixtureFiles, MODELS_DIR } from './modelFixtures.ts';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

interface EncoderGolden {
  texts: string[];
  ids: number[][];
  pad_id: number;
  B: number;
  T: number;
  hidden: number;
  last_hidden_state: number[];
  embeddings: number[];
}
const golden = JSON.parse(readFileSync(join(MODELS_DIR, 'tiny-bert', 'golden.json'), 'utf8')) as EncoderGolden;

/** A safetensors file of any dtypes (the writer under test writes float dtypes only). */
function rawSafetensors(entries: Array<{ name: string; dtype: string; shape: number[]; data: Uint8Array }>): Uint8Array {
  const header: Record<string, unknown> = {};
  let off = 0;
  for (const e of entries) {
    header[e.name] = { dtype: e.dtype, shape: e.shape, data_offsets: [off, off + e.data.length] };
    off += e.data.length;
  }
  const h = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + off);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  let pos = 8 + h.length;
  for (const e of entries) {
    out.set(e.data, pos);
    pos += e.data.length;
  }
  return out;
}

async function weights(m: { tensors: Map<string, unknown> } & Parameters<typeof readTensor>[0]): Promise<Map<string, Float64Array>> {
  const w = new Map<string, Float64Array>();
  for (const k of m.tensors.keys()) w.set(k, Float64Array.from(await readTensor(m, k)));
  return w;
}

describe('exact GELU', () => {
  it('erf and erfc agree with known values to double precision', () => {
    // Values from Python's math.erf / math.erfc (correctly rounded C library).
    const cases: Array<[number, number, number]> = [
      [0.1, 0.1124629160182849, 0.88753708398171516],
      [0.5, 0.52049987781304652, 0.47950012218695348],
      [1, 0.84270079294971489, 0.15729920705028513],
      [2, 0.99532226501895271, 0.0046777349810472654],
      [3, 0.99997790950300136, 2.2090496998585438e-5],
      [4, 0.99999998458274209, 1.541725790028002e-8],
      [6, 1, 2.1519736712498916e-17],
      [10, 1, 2.0884875837625449e-45],
    ];
    for (const [x, e, ec] of cases) {
      expect(Math.abs(erf(x) - e)).toBeLessThan(5e-16);
      expect(Math.abs(erf(-x) + e)).toBeLessThan(5e-16);
      expect(Math.abs(erfc(x) - ec) / ec).toBeLessThan(x < 3 ? 1e-13 : 1e-14);
    }
    expect(erf(0)).toBe(0);
  });

  it('forward is x·Φ(x) and its backward matches finite differences', () => {
    const n = 41;
    const x = randn(n, rng(3), 6);
    const out = new Float64Array(n);
    geluErfForward(out, x, n);
    for (let i = 0; i < n; i++) expect(out[i]).toBeCloseTo(0.5 * x[i] * (1 + erf(x[i] / Math.SQRT2)), 14);
    const dout = randn(n, rng(4));
    const dx = new Float64Array(n);
    geluErfBackward(dx, dout, x, n);
    const num = numericGrad(x, () => {
      const o = new Float64Array(n);
      geluErfForward(o, x, n);
      return dot(o, dout);
    });
    expect(maxRelError(dx, num)).toBeLessThan(1e-8);
    const acc = Float64Array.from(dout);
    geluErfBackward(acc, dout, x, n, true);
    expect(maxRelError(acc, dx.map((v, i) => v + dout[i]))).toBeLessThan(1e-15);
  });
});

describe('non-causal attention with a key padding mask', () => {
  const s: AttentionShape = { B: 2, T: 5, NH: 4, NKV: 2, D: 3, q: { stride: 12, offset: 0 }, k: { stride: 6, offset: 0 }, v: { stride: 6, offset: 0 }, causal: false };
  const r = rng(11);
  const q = randn(10 * 12, r, 2), k = randn(10 * 6, r, 2), v = randn(10 * 6, r);
  const mask = [1, 1, 0, 1, 0, 1, 1, 1, 1, 1];

  it('equals a direct softmax over the unmasked keys of every query', () => {
    const out = new Float64Array(10 * 12), lse = new Float64Array(2 * 4 * 5);
    attentionForward(out, lse, q, k, v, s, mask);
    for (let b = 0; b < 2; b++)
      for (let h = 0; h < 4; h++)
        for (let i = 0; i < 5; i++) {
          const kvh = h >> 1;
          const keys = [0, 1, 2, 3, 4].filter((j) => mask[b * 5 + j]);
          const sc = keys.map((j) => {
            let d = 0;
            for (let c = 0; c < 3; c++) d += q[(b * 5 + i) * 12 + h * 3 + c] * k[(b * 5 + j) * 6 + kvh * 3 + c];
            return d / Math.sqrt(3);
          });
          const z = sc.reduce((a, x) => a + Math.exp(x), 0);
          expect(lse[(b * 4 + h) * 5 + i]).toBeCloseTo(Math.log(z), 12);
          for (let c = 0; c < 3; c++) {
            const want = keys.reduce((a, j, n) => a + (Math.exp(sc[n]) / z) * v[(b * 5 + j) * 6 + kvh * 3 + c], 0);
            expect(out[(b * 5 + i) * 12 + h * 3 + c]).toBeCloseTo(want, 12);
          }
        }
  });

  it('a query with no visible key gives zeros and the kernels minus infinity; without a mask every key counts', () => {
    const out = new Float64Array(10 * 12).fill(NaN), lse = new Float64Array(40).fill(NaN);
    attentionForward(out, lse, q, k, v, s, [0, 0, 0, 0, 0, 1, 1, 1, 1, 1]);
    expect(Array.from(out.subarray(0, 60))).toEqual(new Array(60).fill(0));
    expect(Array.from(lse.subarray(0, 20))).toEqual(new Array(20).fill(NO_KEYS_LSE));
    const all = new Float64Array(120), allL = new Float64Array(40), ones = new Float64Array(120), onesL = new Float64Array(40);
    attentionForward(all, allL, q, k, v, s);
    attentionForward(ones, onesL, q, k, v, s, new Array(10).fill(1));
    expect(maxRelError(all, ones)).toBe(0);
    // Causal with an all-ones mask is plain causal attention.
    const c1 = new Float64Array(120), c2 = new Float64Array(120);
    attentionForward(c1, new Float64Array(40), q, k, v, { ...s, causal: true });
    attentionForward(c2, new Float64Array(40), q, k, v, { ...s, causal: true }, new Array(10).fill(1));
    expect(maxRelError(c1, c2)).toBe(0);
  });

  it('has no backward: it throws instead of returning zeros', () => {
    const z = new Float64Array(120);
    expect(() => attentionBackward(z, z, z, z, q, k, v, z, new Float64Array(40), s)).toThrow(/only causal attention has a backward/);
  });
});

describe('mean pooling', () => {
  it('averages the real rows only and L2-normalises', () => {
    const x = Float64Array.from([1, 2, 3, 4, 100, 100, /* b1 */ 0, 0, 5, 5, 7, -1]);
    const out = new Float64Array(4);
    meanPoolForward(out, x, [1, 1, 0, 0, 1, 1], { B: 2, T: 3, C: 2 }, false);
    expect(Array.from(out)).toEqual([2, 3, 6, 2]);
    meanPoolForward(out, x, [1, 1, 0, 0, 1, 1], { B: 2, T: 3, C: 2 });
    expect(out[0]).toBeCloseTo(2 / Math.sqrt(13), 15);
    expect(out[3]).toBeCloseTo(2 / Math.sqrt(40), 15);
  });
});

describe('BERT config and loading', () => {
  it('normalises model_type "bert" into an encoder spec', () => {
    const s = parseModelConfig({
      model_type: 'bert', vocab_size: 30522, hidden_size: 384, num_hidden_layers: 6, num_attention_heads: 12, intermediate_size: 1536,
      hidden_act: 'gelu', max_position_embeddings: 512, type_vocab_size: 2, layer_norm_eps: 1e-12,
    });
    expect(s).toMatchObject({ arch: 'bert', kind: 'encoder', hidden: 384, headDim: 32, kvHeads: 12, activation: 'gelu_erf', normEps: 1e-12, typeVocabSize: 2, maxPositions: 512, ropeTheta: null });
    expect(parseModelConfig({ model_type: 'gpt2', vocab_size: 5, n_embd: 8, n_head: 2, n_layer: 1, n_positions: 8 }).kind).toBe('causal-lm');
    const bad = { model_type: 'bert', vocab_size: 10, hidden_size: 8, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 16 };
    expect(() => parseModelConfig({ ...bad, hidden_act: 'relu' })).toThrow(/hidden_act "relu" is not supported for bert/);
    expect(() => parseModelConfig({ ...bad, position_embedding_type: 'relative_key' })).toThrow(/position_embedding_type "relative_key"/);
    expect(() => parseModelConfig({ ...bad, num_attention_heads: 3 })).toThrow(/not divisible/);
    expect(() => parseModelConfig({ ...bad, is_decoder: true })).toThrow(/BERT decoder/);
  });

  it('opens the fixture: HF BertModel names, the pooler and int64 position_ids stored but unused', async () => {
    const m = await openEncoder(fixtureFiles('tiny-bert'));
    expect(m.spec).toMatchObject({ hidden: 32, layers: 2, heads: 4, intermediate: 64, maxPositions: 32 });
    expect(m.tensors.size).toBe(m.layout.shapes.size);
    expect(m.unused.sort()).toEqual(['embeddings.position_ids', 'pooler.dense.bias', 'pooler.dense.weight']);
    expect(planMemory(m, { maxStorageBufferBindingSize: 1 << 20, maxBufferSize: 1 << 20 }).maxTokens).toBe(Math.floor((1 << 20) / (3 * 32 * 4)));
  });

  it('refuses a BERT as a causal language model, and a causal model as an encoder', async () => {
    await expect(openModel(fixtureFiles('tiny-bert'))).rejects.toThrow(/model_type "bert" is a sentence encoder .*not a causal language model: it cannot generate text or be finetuned/);
    await expect(openEncoder(fixtureFiles('tiny-gpt2'))).rejects.toThrow(/model_type "gpt2" is a causal language model, not a sentence encoder/);
  });

  it('accepts checkpoints whose names carry the "bert." prefix (BertFor* heads)', async () => {
    const file = await readSafetensorsHeader(new Blob([fixtureBytes('tiny-bert', 'model.safetensors') as BlobPart]), 'model.safetensors');
    const out: Record<string, TensorToWrite> = {};
    for (const [name, t] of file.tensors) out[`bert.${name}`] = { dtype: t.dtype, shape: t.shape, data: await readTensorBytes(file, name) };
    out['cls.predictions.bias'] = { dtype: 'F32', shape: [1], data: new Uint8Array(4) };
    const m = await openEncoder(fixtureFiles('tiny-bert', { 'model.safetensors': writeSafetensors(out) }));
    expect(m.unused).toContain('cls.predictions.bias');
    const w = await weights(m);
    const batch = padSequences(golden.ids, golden.pad_id);
    expect(maxRelError(referenceEncoder(m.spec, w, batch).embeddings, golden.embeddings)).toBeLessThan(1e-7);
  });

  it('names a needed tensor stored in a dtype that is not a float, and other pooling modes', async () => {
    const file = await readSafetensorsHeader(new Blob([fixtureBytes('tiny-bert', 'model.safetensors') as BlobPart]), 'model.safetensors');
    const entries: Array<{ name: string; dtype: string; shape: number[]; data: Uint8Array }> = [];
    for (const [name, t] of file.tensors) {
      const i64 = name === 'embeddings.LayerNorm.bias';
      entries.push({ name, dtype: i64 ? 'I64' : t.dtype, shape: t.shape, data: i64 ? new Uint8Array(8 * 32) : await readTensorBytes(file, name) });
    }
    await expect(openEncoder(fixtureFiles('tiny-bert', { 'model.safetensors': rawSafetensors(entries) }))).rejects.toThrow(
      /model\.safetensors: tensor "embeddings\.LayerNorm\.bias" is stored as I64; weights must be F32, F16 or BF16/,
    );
    const cls = JSON.stringify({ word_embedding_dimension: 32, pooling_mode_cls_token: true, pooling_mode_mean_tokens: false });
    await expect(openEncoder(fixtureFiles('tiny-bert', { '1_Pooling/config.json': cls }))).rejects.toThrow(/asks for pooling_mode_cls_token; only mean pooling/);
    const mean = JSON.stringify({ word_embedding_dimension: 32, pooling_mode_mean_tokens: true });
    await expect(openEncoder(fixtureFiles('tiny-bert', { '1_Pooling/config.json': mean }))).resolves.toBeTruthy();
  });
});

describe('tiny-bert against PyTorch', () => {
  it("the WordPiece tokenizer gives the script's ids (lowercase, accents stripped, [UNK], tokenizer.json's padding ignored), truncated to the positions", async () => {
    const m = await openEncoder(fixtureFiles('tiny-bert'));
    golden.texts.forEach((t, i) => expect(m.tokenizer.encodeTruncated(t, m.spec.maxPositions), t).toEqual(golden.ids[i]));
    expect(golden.ids[3]).toContain(m.tokenizer.tokenToId('[UNK]'));
    expect(m.tokenizer.encode(golden.texts[5]).length).toBeGreaterThan(m.spec.maxPositions);
    expect(golden.ids[5].length).toBe(m.spec.maxPositions);
    expect(golden.ids[5].at(-1)).toBe(m.tokenizer.tokenToId('[SEP]'));
  });

  it('the float64 reference forward matches the last hidden states and the embeddings', async () => {
    const m = await openEncoder(fixtureFiles('tiny-bert'));
    const batch = padSequences(golden.ids, golden.pad_id);
    expect([batch.B, batch.T]).toEqual([golden.B, golden.T]);
    const w = await weights(m);
    const out = referenceEncoder(m.spec, w, batch);
    expect(maxRelError(out.hidden, golden.last_hidden_state)).toBeLessThan(1e-7);
    expect(maxRelError(out.embeddings, golden.embeddings)).toBeLessThan(1e-7);
    // The goldens tell the details apart: attending the padding, or tanh GELU instead of erf, misses them.
    const unmasked = referenceEncoder(m.spec, w, { ...batch, mask: new Uint32Array(batch.mask.length).fill(1) });
    expect(maxRelError(unmasked.embeddings, golden.embeddings)).toBeGreaterThan(1e-2);
    const tanh = referenceEncoder({ ...m.spec, activation: 'gelu_tanh' }, w, batch);
    expect(maxRelError(tanh.embeddings, golden.embeddings)).toBeGreaterThan(1e-5);
  });
});
