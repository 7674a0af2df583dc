// The per-task scorer on a deterministic bigram source (the next token's logits depend on the
// last token only), whose answers are known: greedy letters, choice likelihoods, exact match with
// EOS, case folding, per-task accuracy and the unweighted mean.
import { describe, expect, it } from 'vitest';
import { evaluateItems, normaliseAnswer, type Decoder, type EvalItem, type LogitsSource } from '../src/train/evaluate.ts';
import type { Example } from '../src/data/types.ts';

// Vocabulary: 0 EOS, 1 "A", 2 "B", 3 "C", 4 " yes", 5 " no", 6 "?", 7 "q"
const WORDS = ['<eos>', 'A', 'B', 'C', ' yes', ' no', '?', 'q'];
const V = WORDS.length;
/** Bigram table: after token t, these logits. */
const NEXT: Record<number, number[]> = {
  6: [0, 1, 5, 3, 0, 0, 0, 0], // after "?": B is greedy; C second
  7: [0, 0, 0, 0, 4, 1, 0, 0], // after "q": " yes"
  4: [9, 0, 0, 0, 0, 0, 0, 0], // after " yes": EOS
  5: [9, 0, 0, 0, 0, 0, 0, 0],
};
const bigram: LogitsSource = {
  vocabSize: V,
  async nextLogits(seqs) {
    const out = new Float32Array(seqs.length * V);
    seqs.forEach((s, i) => out.set(NEXT[s[s.length - 1]] ?? new Array(V).fill(0), i * V));
    return out;
  },
};
const dec: Decoder = { decode: (ids) => ids.map((i) => WORDS[i]).join(''), letterId: (l) => WORDS.indexOf(l), eosId: 0 };

const ex = (task: string, answer: string, mc: Example['mc']): Example => ({ line: 1, task, kind: 'instruction', prompt: 'p', answer, messages: null, mc, emb: null });
const item = (row: number, e: Example, promptIds: number[]): EvalItem => ({ row, task: e.task, ex: e, promptIds, s: null });

describe('evaluation', () => {
  it('multiple choice: greedy letter and likelihood; generative: exact match up to EOS', async () => {
    const items = [
      item(0, ex('mc', 'B', { letters: ['A', 'B'], answer: 'B' }), [7, 6]), // greedy B: right; likelihood B: right
      item(1, ex('mc', 'A', { letters: ['A', 'B'], answer: 'A' }), [6]), // greedy B: wrong; likelihood B: wrong
      item(2, ex('mc', 'C', { letters: ['A', 'C'], answer: 'C' }), [6]), // greedy B: wrong; likelihood over A, C: C right
      item(3, ex('gen', 'YES', null), [7]), // " yes" then EOS: right after case folding
      item(4, ex('gen', 'no', null), [7]), // wrong
    ];
    const r = await evaluateItems(bigram, dec, items, { batchSize: 2, answerTokens: () => 1 });
    expect(r.tasks).toEqual({ gen: { n: 2, accuracy: 0.5 }, mc: { n: 3, accuracy: 1 / 3, likelihoodAccuracy: 2 / 3 } });
    expect(r.mean).toBeCloseTo((0.5 + 1 / 3) / 2, 12);
    expect(r.rows.find((x) => x.row === 3)).toEqual({ row: 3, task: 'gen', correct: true, output: ' yes' });
  });

  it('stops a generation at answer length + 4 tokens without EOS', async () => {
    const loop: LogitsSource = { vocabSize: V, async nextLogits(seqs) { const o = new Float32Array(seqs.length * V); seqs.forEach((_, i) => (o[i * V + 7] = 1)); return o; } };
    const r = await evaluateItems(loop, dec, [item(0, ex('g', 'q', null), [6])], { batchSize: 4, answerTokens: () => 1 });
    expect(r.rows[0].output).toBe('qqqqq');
    expect(normaliseAnswer('  Hello\n  World ')).toBe('hello world');
  });
});
