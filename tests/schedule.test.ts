// The learning-rate schedule against values worked out by hand.
import { describe, expect, it } from 'vitest';
import { checkSchedule, learningRate } from '../src/train/schedule.ts';

describe('learning-rate schedule', () => {
  it('warmup then cosine', () => {
    const c = { lr: 1, schedule: 'cosine' as const, warmupSteps: 4, totalSteps: 12 };
    expect([1, 2, 3, 4].map((t) => learningRate(c, t))).toEqual([0.25, 0.5, 0.75, 1]);
    // decay over 8 steps: p = 0, 1/8, …, 7/8
    for (let t = 5; t <= 12; t++) expect(learningRate(c, t)).toBeCloseTo(0.5 * (1 + Math.cos((Math.PI * (t - 5)) / 8)), 14);
    expect(learningRate(c, 12)).toBeGreaterThan(0);
  });
  it('linear, constant, floors, no warmup', () => {
    expect([1, 2, 3, 4].map((t) => learningRate({ lr: 2, schedule: 'linear', totalSteps: 4 }, t))).toEqual([2, 1.5, 1, 0.5]);
    expect([1, 5, 9].map((t) => learningRate({ lr: 3e-4, schedule: 'constant', warmupSteps: 2, totalSteps: 9 }, t))).toEqual([1.5e-4, 3e-4, 3e-4]);
    expect(learningRate({ lr: 1, schedule: 'cosine', totalSteps: 3, minRatio: 0.1 }, 1)).toBe(1);
    expect(learningRate({ lr: 1, schedule: 'linear', totalSteps: 2, minRatio: 0.5 }, 2)).toBe(0.75);
    // warmup longer than the run: ramps over the whole run
    expect(learningRate({ lr: 1, schedule: 'cosine', warmupSteps: 10, totalSteps: 4 }, 4)).toBe(1);
  });
  it('refuses bad settings with the field named', () => {
    expect(() => checkSchedule({ lr: 0, schedule: 'cosine', totalSteps: 3 })).toThrow(/lr must be a positive/);
    expect(() => checkSchedule({ lr: 1, schedule: 'step' as never, totalSteps: 3 })).toThrow(/schedule must be/);
    expect(() => checkSchedule({ lr: 1, schedule: 'linear', totalSteps: 0 })).toThrow(/at least one step/);
    expect(() => checkSchedule({ lr: 1, schedule: 'linear', totalSteps: 3, warmupSteps: -1 })).toThrow(/warmupSteps/);
  });
});
