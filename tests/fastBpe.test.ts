// The fast BPE path against @huggingface/tokenizers: identical ids on random and adversarial text
// for every fixture tokenizer (byte-level GPT-2, SentencePiece-style Llama with byte fallback,
// Qwen2's split regex + NFC), and the layouts it declines.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { FastBpe } from '../src/model/fastBpe.ts';
import { TextTokenizer } from '../src/model/tokenizer.ts';
import { Random } from '../src/util/random.ts';
import { MODELS_DIR } from './modelFixtures.ts';

const json = (m: string, f: string) => JSON.parse(readFileSync(join(MODELS_DIR, m, f), 'utf8'));
const PIECES = ['the', ' ', '  ', '\n', '\r\n', '\t', 'Hello', 'world', '!', "'s", "n't", '12', '345', 'é', 'ü', '日本', '😀', '👍🏽', '—', '▁', '<s>', '</s>', '<|endoftext|>', '<|im_start|>', '<|im_end|>', 'x', 'ab', 'Z', '.', ',', '###', ':'];

describe('fast BPE', () => {
  for (const m of ['tiny-gpt2', 'tiny-llama', 'tiny-qwen2'])
    it(`${m}: identical to the library on 400 random strings`, () => {
      const tj = json(m, 'tokenizer.json'), cfg = json(m, 'tokenizer_config.json');
      const fast = FastBpe.build(tj, cfg);
      expect(fast).not.toBeNull();
      const lib = new Tokenizer(tj, cfg);
      const rng = new Random(77);
      for (let i = 0; i < 400; i++) {
        const text = Array.from({ length: 1 + rng.int(40) }, () => PIECES[rng.int(PIECES.length)]).join(rng.int(3) ? '' : ' ');
        expect(fast!.encode(text), JSON.stringify(text)).toEqual(lib.encode(text, { add_special_tokens: false }).ids);
      }
      const t = new TextTokenizer(tj, cfg);
      expect(t.fastPath).toBe(true);
    });

  it('declines layouts it does not cover', () => {
    const tj = json('tiny-gpt2', 'tokenizer.json');
    expect(FastBpe.build({ ...tj, model: { ...tj.model, type: 'WordPiece' } })).toBeNull();
    expect(FastBpe.build({ ...tj, normalizer: { type: 'BertNormalizer' } })).toBeNull();
    expect(FastBpe.build({ ...tj, pre_tokenizer: { type: 'Whitespace' } })).toBeNull();
    expect(FastBpe.build({ ...tj, model: { ...tj.model, continuing_subword_prefix: '##' } })).toBeNull();
  });

  it('turns itself off at the first disagreement, and the library answers', () => {
    const tj = json('tiny-gpt2', 'tokenizer.json'), cfg = json('tiny-gpt2', 'tokenizer_config.json');
    const t = new TextTokenizer(tj, cfg);
    const ref = new Tokenizer(tj, cfg).encode('hello there', { add_special_tokens: true }).ids;
    // Corrupt the fast path's cache for one word: the next check catches it.
    (t as unknown as { fast: { encode: (s: string) => number[] } }).fast.encode = () => [0];
    expect(t.encode('hello there')).toEqual(ref);
    expect(t.fastPath).toBe(false);
  });
});
