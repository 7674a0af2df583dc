// The GPU-side loss history's growth (GpuTrainer.historyRow): every step's row must fit, also when
// a restored run asks for its whole history at once (a run resumed at step 246 wrote past a
// 64-row buffer and failed at its first step).
import { describe, expect, it } from 'vitest';
import { historyCapacityFor } from '../src/train/trainer.ts';

describe('loss history capacity', () => {
  it('starts at 64 rows and doubles as steps come one by one', () => {
    let cap = 0;
    const seen: number[] = [];
    for (let step = 1; step <= 600; step++) {
      if (step > cap) {
        cap = historyCapacityFor(step, cap);
        seen.push(cap);
      }
      expect(cap).toBeGreaterThanOrEqual(step);
    }
    expect(seen).toEqual([64, 128, 256, 512, 1024]);
  });

  it('holds a restored history of any length in one allocation', () => {
    for (const step of [1, 63, 64, 65, 128, 129, 246, 600, 5000]) {
      const cap = historyCapacityFor(step, 0);
      expect(cap).toBeGreaterThanOrEqual(step);
      expect(cap).toBeLessThan(Math.max(128, 2 * step));
    }
    expect(historyCapacityFor(246, 0)).toBe(256);
    expect(historyCapacityFor(700, 128)).toBe(1024);
  });
});
