// Restoring a saved run recomputes its intuition exactly as it was computed (checkpoint.ts).
import { describe, expect, it } from 'vitest';
import { restoredIntuition } from '../src/train/checkpoint.ts';
import type { RunConfig } from '../src/train/run.ts';

const config = { method: 'trex', init: 'fresh', steps: 10, batchSize: 4, lr: 1e-3, schedule: 'cosine', seed: 9 } as RunConfig;

describe('restoredIntuition', () => {
  it('keeps a record\'s own seed and centring', () => {
    expect(restoredIntuition({ config, intuition: { source: 'model', k: 8, layer: 2, seed: 4, center: true } })).toEqual({ source: 'model', k: 8, layer: 2, seed: 4, center: true });
    expect(restoredIntuition({ config, intuition: { source: 'model', k: 8, seed: 4, center: false } })).toMatchObject({ center: false });
  });

  it('takes the run\'s seed when the record has none, and no centring when it predates centring', () => {
    expect(restoredIntuition({ config, intuition: { source: 'model', k: 8 } })).toEqual({ source: 'model', k: 8, seed: 9, center: false });
  });

  it('is null for a run without an intuition', () => {
    expect(restoredIntuition({ config, intuition: null })).toBeNull();
  });
});
