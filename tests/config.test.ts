// adapterConfigDiff: whether a run may continue a loaded adapter ("init: loaded").
import { describe, expect, it } from 'vitest';
import { adapterConfigDiff, withDefaults, type AdapterConfig } from '../src/train/config.ts';

describe('adapterConfigDiff', () => {
  it('ignores key order and spelled-out defaults', () => {
    const a = withDefaults({ method: 'trex' });
    const b: AdapterConfig = { targets: ['v', 'q'], lambdaLB: 0, topk: null, r2: 8, r1: 4, method: 'trex', useRouter: true };
    expect(adapterConfigDiff(a, { ...a, topk: null, lambdaH: 0, useIntuition: true, k: null })).toBeNull();
    expect(adapterConfigDiff({ ...a, targets: ['q', 'v'] }, b)).toBeNull();
  });

  it('names the first setting that differs, this run first', () => {
    const a = withDefaults({ method: 'trex' });
    expect(adapterConfigDiff(a, { ...a, r2: 4 })).toBe('r2: 8 vs 4');
    expect(adapterConfigDiff(a, { ...a, topk: 8 })).toBe('topk: null vs 8');
    expect(adapterConfigDiff(a, { ...a, k: 5 })).toBe('k: null vs 5');
    expect(adapterConfigDiff(a, { ...a, useRouter: false })).toBe('useRouter: true vs false');
    expect(adapterConfigDiff(a, { ...a, targets: ['q'] })).toBe('targets: "all" vs "q"');
    expect(adapterConfigDiff(withDefaults({ method: 'lora' }), withDefaults({ method: 'molora' }))).toBe('method: "lora" vs "molora"');
  });
});
