// Learning rate per optimiser step: a linear warmup, then constant, linear decay or cosine decay
// (the paper: cosine with 100 warmup steps). Steps are 1-based; the warmup ramps lr·t/warmup, so
// the first update already moves; after the warmup, progress p runs from 0 at the first decay
// step to (total − warmup − 1)/(total − warmup) at the last, so no step is wasted at lr 0.

export type Schedule = 'constant' | 'cosine' | 'linear';

export interface ScheduleConfig {
  lr: number;
  schedule: Schedule;
  warmupSteps?: number;
  totalSteps: number;
  /** The decayed floor as a share of lr (default 0). */
  minRatio?: number;
}

export function checkSchedule(c: ScheduleConfig): void {
  if (!(c.lr > 0 && Number.isFinite(c.lr))) throw new RangeError(`lr must be a positive number, got ${c.lr}`);
  if (!['constant', 'cosine', 'linear'].includes(c.schedule)) throw new RangeError(`schedule must be "constant", "cosine" or "linear", got ${JSON.stringify(c.schedule)}`);
  if (!(Number.isInteger(c.totalSteps) && c.totalSteps >= 1)) throw new RangeError(`the run needs at least one step, got ${c.totalSteps}`);
  const w = c.warmupSteps ?? 0;
  if (!(Number.isInteger(w) && w >= 0)) throw new RangeError(`warmupSteps must be a non-negative integer, got ${w}`);
  const m = c.minRatio ?? 0;
  if (!(m >= 0 && m <= 1)) throw new RangeError(`minRatio must be in [0, 1], got ${m}`);
}

/** The learning rate of step t (1-based). */
export function learningRate(c: ScheduleConfig, t: number): number {
  const w = Math.min(c.warmupSteps ?? 0, c.totalSteps);
  if (t <= w) return (c.lr * t) / w;
  if (c.schedule === 'constant') return c.lr;
  const decay = c.totalSteps - w;
  const p = (t - w - 1) / decay;
  const floor = c.minRatio ?? 0;
  const f = c.schedule === 'linear' ? 1 - p : 0.5 * (1 + Math.cos(Math.PI * p));
  return c.lr * (floor + (1 - floor) * f);
}
