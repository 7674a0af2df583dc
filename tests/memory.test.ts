// The step memory estimate and its refusals: the binding limit names the buffer and a batch that
// fits; a budget names the parts and suggests accumulation.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseModelConfig } from '../src/model/config.ts';
import { checkStepFits, estimateStep } from '../src/train/memory.ts';
import { adapterSavedSizes } from '../src/ops/adapter.ts';
import { adaptedLayers, layerSpec } from '../src/train/config.ts';
import { MODELS_DIR } from './modelFixtures.ts';

const spec = parseModelConfig(JSON.parse(readFileSync(join(MODELS_DIR, 'tiny-llama', 'config.json'), 'utf8')));
const trex = { method: 'trex' as const, r1: 2, r2: 4 };

describe('step memory', () => {
  it('grows with the batch; logits are B·T·V floats', () => {
    const a = estimateStep(spec, 1000, trex, 1, 32), b = estimateStep(spec, 1000, trex, 4, 32);
    expect(b.activationBytes).toBeGreaterThan(3 * a.activationBytes);
    expect(b.weightBytes).toBe(1000);
    const big = estimateStep(spec, 0, trex, 8, 128);
    expect(big.largest.bytes).toBeGreaterThanOrEqual(8 * 128 * spec.vocabSize * 4);
  });
  it('refuses a buffer over the binding limit with a batch that fits', () => {
    const limits = { maxStorageBufferBindingSize: 64 * 1024, maxBufferSize: 1 << 30 };
    expect(() => checkStepFits(spec, 0, trex, 16, 64, limits, null)).toThrow(/MiB buffer \(logits, for batch 16 x 64 tokens\).*use a batch of \d+/);
    expect(checkStepFits(spec, 0, trex, 1, 8, limits, null).totalBytes).toBeGreaterThan(0);
  });
  it('saves δ (T x m per adapted layer) for gated methods only: the ungated ones add hB·Bᵀ into y', () => {
    for (const [cfg, gated] of [[trex, true], [{ method: 'mor1e' as const, E: 4 }, true], [{ method: 'lora' as const, r: 4 }, false], [{ method: 'molora' as const, r: 8 }, false], [{ method: 'sira' as const, r: 8 }, false]] as const) {
      const lin = adaptedLayers(spec, cfg)[0].lin;
      const s = layerSpec(cfg, lin, 32);
      expect(adapterSavedSizes(s).delta).toBe(gated ? 32 * s.m : undefined);
    }
  });
  it('refuses a step over the budget, suggesting accumulation', () => {
    const limits = { maxStorageBufferBindingSize: 1 << 30, maxBufferSize: 1 << 30 };
    const one = estimateStep(spec, 0, trex, 1, 64).totalBytes;
    expect(() => checkStepFits(spec, 0, trex, 16, 64, limits, one * 2)).toThrow(/over the budget of .* MiB: use a batch of \d+ with accumulate \d+/);
    expect(() => checkStepFits(spec, 0, trex, 16, 64, limits, 1)).toThrow(/shorter sequences \(maxLength\), fewer target modules/);
  });
});
