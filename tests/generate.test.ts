// Sampling rules: greedy is argmax; temperature sampling follows the softmax; top-p keeps the
// smallest set of tokens whose probability reaches p.
import { describe, expect, it } from 'vitest';
import { sampleToken } from '../src/model/generate.ts';
import { rng } from '../src/reference/gradcheck.ts';

describe('sampleToken', () => {
  const logits = Float32Array.from([1, 3, 2, -1]);
  it('greedy picks the argmax', () => {
    expect(sampleToken(logits, { temperature: 0 }, () => 0.99)).toBe(1);
  });
  it('top-p 0.5 keeps only the most likely token', () => {
    const r = rng(1);
    for (let i = 0; i < 50; i++) expect(sampleToken(logits, { temperature: 1, topP: 0.5 }, r)).toBe(1);
  });
  it('temperature sampling matches the softmax frequencies', () => {
    const r = rng(2);
    const counts = [0, 0, 0, 0];
    const n = 20000;
    for (let i = 0; i < n; i++) counts[sampleToken(logits, { temperature: 1, topP: 1 }, r)]++;
    const z = [1, 3, 2, -1].map(Math.exp);
    const sum = z.reduce((a, b) => a + b);
    z.forEach((p, i) => expect(Math.abs(counts[i] / n - p / sum)).toBeLessThan(0.015));
  });
  it('top-p 0.9 never samples the tail token', () => {
    // probabilities ≈ [0.087, 0.644, 0.237, 0.032]: the top two reach 0.88 < 0.9, so three are kept.
    const r = rng(3);
    const seen = new Set<number>();
    for (let i = 0; i < 5000; i++) seen.add(sampleToken(logits, { temperature: 1, topP: 0.9 }, r));
    expect([...seen].sort()).toEqual([0, 1, 2]);
  });
});
