// Loading models: the safetensors reader's validation rules and writer, dtype conversion,
// config normalisation, the tokenizer, and every bad-input case giving one clear message.
import { describe, expect, it } from 'vitest';
import { readSafetensorsHeader, readTensorBytes, writeSafetensors } from '../src/model/safetensors.ts';
import { f16ToF32, f32ToBf16, f32ToF16, toFloat32 } from '../src/model/dtype.ts';
import { parseModelConfig } from '../src/model/config.ts';
import { openModel, planMemory } from '../src/model/load.ts';
import { TextTokenizer } from '../src/model/tokenizer.ts';
import { fixtureBytes, fixtureFiles } from './modelFixtures.ts';

const enc = (s: string) => new TextEncoder().encode(s);

/** A safetensors file from a literal header object and a data section. */
function raw(header: unknown, data: Uint8Array, lenOverride?: number): Blob {
  const h = enc(JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(lenOverride ?? h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return new Blob([out]);
}

describe('safetensors', () => {
  const f32 = (xs: number[]) => new Uint8Array(Float32Array.from(xs).buffer);

  it('round-trips through the writer with an 8-byte-aligned header and format = pt', async () => {
    const bytes = writeSafetensors({ a: { dtype: 'F32', shape: [2, 2], data: f32([1, 2, 3, 4]) }, b: { dtype: 'F16', shape: [3], data: new Uint8Array(6) } }, { note: 'x' });
    const len = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(len % 8).toBe(0);
    const file = await readSafetensorsHeader(new Blob([bytes as BlobPart]), 'w.safetensors');
    expect(file.metadata).toEqual({ format: 'pt', note: 'x' });
    expect(file.tensors.get('a')!.shape).toEqual([2, 2]);
    expect(Array.from(toFloat32(await readTensorBytes(file, 'a'), 'F32'))).toEqual([1, 2, 3, 4]);
  });

  const cases: Array<[string, () => Blob, RegExp]> = [
    ['a file shorter than 8 bytes', () => new Blob([new Uint8Array(3)]), /too short/],
    ['a header length past the end of the file', () => raw({}, new Uint8Array(0), 5000), /runs past the end of the file/],
    ['a header length over 100 MB', () => raw({}, new Uint8Array(0), 200_000_000), /exceeds the 100 MB limit/],
    ['a header that is not JSON', () => new Blob([Uint8Array.from([4, 0, 0, 0, 0, 0, 0, 0, 123, 123, 123, 123])]), /not valid UTF-8 JSON/],
    ['an unknown dtype', () => raw({ x: { dtype: 'Q4', shape: [1], data_offsets: [0, 4] } }, new Uint8Array(4)), /tensor "x": unknown dtype "Q4"/],
    ['a header that lies about the size', () => raw({ x: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, new Uint8Array(8)), /tensor "x": 8 bytes stored but shape \[3\] of F32 needs 12/],
    ['overlapping tensors', () => raw({ x: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, y: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, new Uint8Array(12)), /overlaps/],
    ['a gap between tensors', () => raw({ x: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, y: { dtype: 'F32', shape: [1], data_offsets: [8, 12] } }, new Uint8Array(12)), /contiguous/],
    ['a truncated data section', () => raw({ x: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, new Uint8Array(10)), /truncated/],
    ['trailing bytes', () => raw({ x: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, new Uint8Array(9)), /trailing bytes/],
    ['a negative shape', () => raw({ x: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, new Uint8Array(4)), /non-negative integers/],
  ];
  it('lists tensors of a valid non-float dtype apart (a model needing one is refused when opened)', async () => {
    const file = await readSafetensorsHeader(raw({ x: { dtype: 'I64', shape: [1], data_offsets: [0, 8] }, y: { dtype: 'F32', shape: [1], data_offsets: [8, 12] } }, new Uint8Array(12)), 'm.safetensors');
    expect([...file.tensors.keys()]).toEqual(['y']);
    expect(file.others.get('x')).toEqual({ name: 'x', dtype: 'I64', shape: [1] });
    await expect(readSafetensorsHeader(raw({ x: { dtype: 'I64', shape: [2], data_offsets: [0, 8] } }, new Uint8Array(8)), 'm.safetensors')).rejects.toThrow(/tensor "x": 8 bytes stored but shape \[2\] of I64 needs 16/);
  });

  for (const [name, make, msg] of cases) {
    it(`rejects ${name}, naming the file`, async () => {
      await expect(readSafetensorsHeader(make(), 'bad.safetensors')).rejects.toThrow(msg);
      await expect(readSafetensorsHeader(make(), 'bad.safetensors')).rejects.toThrow(/^bad\.safetensors: /);
    });
  }
});

describe('dtypes', () => {
  it('converts F16 and BF16 exactly and rounds to nearest even when writing', () => {
    expect(f16ToF32(0x3c00)).toBe(1);
    expect(f16ToF32(0xc000)).toBe(-2);
    expect(f16ToF32(0x0001)).toBe(2 ** -24);
    expect(f16ToF32(0x7c00)).toBe(Infinity);
    for (const v of [0, 1, -2.5, 65504, 1e-5, 0.1]) expect(f16ToF32(f32ToF16(v))).toBeCloseTo(v, 3);
    const bf = toFloat32(new Uint8Array(new Uint16Array([f32ToBf16(1.5), f32ToBf16(-3)]).buffer), 'BF16');
    expect(Array.from(bf)).toEqual([1.5, -3]);
    const odd = toFloat32(new Uint8Array(new Uint16Array([f32ToBf16(0.5), f32ToBf16(-7), f32ToBf16(2)]).buffer), 'BF16');
    expect(Array.from(odd)).toEqual([0.5, -7, 2]);
  });
});

describe('config.json', () => {
  it('normalises GPT-2 and the Llama family into one spec', () => {
    const g = parseModelConfig({ model_type: 'gpt2', vocab_size: 50257, n_embd: 768, n_head: 12, n_layer: 12, n_positions: 1024 });
    expect(g).toMatchObject({ arch: 'gpt2', hidden: 768, headDim: 64, intermediate: 3072, norm: 'layernorm', tiedEmbeddings: true, ropeTheta: null });
    const q = parseModelConfig({
      model_type: 'qwen2', vocab_size: 151936, hidden_size: 896, intermediate_size: 4864, num_hidden_layers: 24, num_attention_heads: 14,
      num_key_value_heads: 2, rope_theta: 1e6, rms_norm_eps: 1e-6, tie_word_embeddings: true, max_position_embeddings: 32768,
    });
    expect(q).toMatchObject({ arch: 'llama', kvHeads: 2, headDim: 64, qkvBias: true, oBias: false, tiedEmbeddings: true });
  });
  it('names the field that is wrong', () => {
    expect(() => parseModelConfig({ model_type: 't5' })).toThrow(/model_type "t5" is not supported; supported: gpt2, llama, qwen2, mistral \(causal language models\) and bert \(sentence encoders\)/);
    expect(() => parseModelConfig({ vocab_size: 3 })).toThrow(/no "model_type"/);
    expect(() => parseModelConfig({ model_type: 'llama', hidden_size: 64, vocab_size: 10, intermediate_size: 8, num_hidden_layers: 1, num_attention_heads: 0 })).toThrow(/"num_attention_heads" must be a positive integer/);
    expect(() => parseModelConfig({ model_type: 'llama', hidden_size: 64, vocab_size: 10, intermediate_size: 8, num_hidden_layers: 1, num_attention_heads: 4, num_key_value_heads: 3 })).toThrow(/not a multiple/);
    expect(() => parseModelConfig({ model_type: 'llama', hidden_size: 64, vocab_size: 10, intermediate_size: 8, num_hidden_layers: 1, num_attention_heads: 4, rope_scaling: { rope_type: 'llama3' } })).toThrow(/rope_scaling \(llama3\)/);
  });
});

describe('tokenizer', () => {
  it('round-trips text through byte-level BPE and applies merges', async () => {
    const m = await openModel(fixtureFiles('tiny-gpt2'));
    const ids = m.tokenizer.encode('the quick brown fox');
    expect(ids.length).toBeLessThan('the quick brown fox'.length); // merges fired
    expect(m.tokenizer.decode(ids)).toBe('the quick brown fox');
    expect(m.tokenizer.decode(m.tokenizer.encode('unseen ÄÖ ✓ bytes'))).toBe('unseen ÄÖ ✓ bytes');
  });
  it('adds <s> for the SentencePiece-style Llama tokenizer and decodes without the prefix space', async () => {
    const m = await openModel(fixtureFiles('tiny-llama'));
    const ids = m.tokenizer.encode('hello world');
    expect(ids[0]).toBe(1);
    expect(m.tokenizer.decode(ids, true)).toBe('hello world');
    expect(m.tokenizer.decode(m.tokenizer.encode('byte fallback: ✓', false))).toBe('byte fallback: ✓');
  });
  it("renders the model's chat template, or the plain instruction one for base models", async () => {
    const q = await openModel(fixtureFiles('tiny-qwen2'));
    expect(q.tokenizer.hasChatTemplate).toBe(true);
    expect(q.tokenizer.chatPrompt([{ role: 'user', content: 'hi' }])).toBe('<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n');
    const ids = q.tokenizer.encode('<|im_start|>user');
    expect(ids[0]).toBe(q.tokenizer.tokenToId('<|im_start|>'));
    const g = await openModel(fixtureFiles('tiny-gpt2'));
    expect(g.tokenizer.hasChatTemplate).toBe(false);
    expect(g.tokenizer.chatPrompt([{ role: 'user', content: 'Name a fox.' }])).toBe('### Instruction:\nName a fox.\n\n### Response:\n');
  });
  it('rejects a tokenizer.json without a model', () => {
    expect(() => new TextTokenizer({ version: '1.0' })).toThrow(/no "model"/);
  });
});

describe('opening a model folder: bad input gives one clear message', () => {
  it('opens the sharded model through its index', async () => {
    const m = await openModel(fixtureFiles('tiny-llama-sharded'));
    expect(m.tensors.size).toBe(m.layout.shapes.size);
    expect(new Set([...m.tensors.values()].map((t) => t.file.fileName)).size).toBe(2);
  });
  const cfg = JSON.parse(new TextDecoder().decode(fixtureBytes('tiny-gpt2', 'config.json')));
  const st = fixtureBytes('tiny-gpt2', 'model.safetensors');
  const cases: Array<[string, Record<string, Uint8Array | string | null>, RegExp]> = [
    ['no config.json', { 'config.json': null }, /config\.json not found in fixture tiny-gpt2/],
    ['config.json that is not JSON', { 'config.json': '{"model_type": ' }, /config\.json in fixture tiny-gpt2 is not valid JSON/],
    ['an unknown model_type', { 'config.json': JSON.stringify({ ...cfg, model_type: 't5' }) }, /model_type "t5" is not supported/],
    ['a missing tokenizer', { 'tokenizer.json': null }, /tokenizer\.json not found in fixture tiny-gpt2/],
    ['no weights', { 'model.safetensors': null }, /model\.safetensors not found/],
    ['a truncated safetensors file', { 'model.safetensors': st.slice(0, st.length - 100) }, /model\.safetensors: .*truncated/],
    ['a corrupted header length', { 'model.safetensors': Uint8Array.from([...[255, 255, 255, 255, 0, 0, 0, 0], ...st.slice(8)]) }, /model\.safetensors: header length/],
    ['shapes that disagree with the config', { 'config.json': JSON.stringify({ ...cfg, n_inner: 128 }) }, /model\.safetensors: tensor "transformer\.h\.0\.mlp\.c_fc\.weight" has shape \[64, 256\] but config\.json implies \[64, 128\]/],
    ['a layer the file lacks', { 'config.json': JSON.stringify({ ...cfg, n_layer: 3 }) }, /missing tensor "h\.2\.ln_1\.weight"/],
    ['a vocabulary smaller than the tokenizer', { 'config.json': JSON.stringify({ ...cfg, vocab_size: 100 }) }, /tokenizer\.json has 305 tokens but config\.json's vocab_size is 100/],
  ];
  for (const [name, overrides, msg] of cases) {
    it(name, async () => {
      await expect(openModel(fixtureFiles('tiny-gpt2', overrides))).rejects.toThrow(msg);
    });
  }

  it('refuses, before allocating, a model whose largest tensor exceeds the binding limit, and says what fits', async () => {
    const m = await openModel(fixtureFiles('tiny-gpt2'));
    const plan = planMemory(m, { maxStorageBufferBindingSize: 1 << 30, maxBufferSize: 1 << 30 });
    expect(plan.largest.name).toBe('wte.weight');
    expect(() => planMemory(m, { maxStorageBufferBindingSize: 64 * 1024, maxBufferSize: 1 << 30 })).toThrow(
      /at most 0\.1 MiB per buffer .* tensor "wte\.weight" \[305, 64\] needs 0\.1 MiB in f32\. Nothing was allocated\..*at most 256 rows/,
    );
  });
});
