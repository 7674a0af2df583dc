// The float64 reference forward against PyTorch's golden logits for every committed test model
// (GPT-2, Llama with GQA, Qwen2 with q/k/v biases and tied embeddings; F32, F16, BF16; sharded).
import { describe, expect, it } from 'vitest';
import { openModel, readTensor } from '../src/model/load.ts';
import { referenceForward } from '../src/reference/model.ts';
import { maxRelError } from '../src/reference/gradcheck.ts';
import { fixtureFiles, fixtureNames, golden } from './modelFixtures.ts';

describe('reference forward vs PyTorch golden logits', () => {
  const names = fixtureNames();
  it('finds the fixture models', () => {
    expect(names).toEqual(expect.arrayContaining(['tiny-gpt2', 'tiny-llama', 'tiny-qwen2', 'tiny-llama-sharded', 'tiny-gpt2-bf16', 'tiny-qwen2-f16']));
  });
  for (const name of names) {
    it(name, async () => {
      const model = await openModel(fixtureFiles(name));
      const weights = new Map<string, Float64Array>();
      for (const key of model.tensors.keys()) weights.set(key, Float64Array.from(await readTensor(model, key)));
      const g = golden(name);
      const logits = referenceForward(model.spec, weights, g.ids);
      expect(logits.length).toBe(g.logits.length);
      expect(maxRelError(logits, g.logits)).toBeLessThan(1e-7);
    });
  }
});
