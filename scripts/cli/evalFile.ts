// eval.json (issue 15): one adapter's accuracy per task before and after training. Shared by
// finetune and compare, in Chromium and in Node.
import type { EvalResult } from '../../src/train/evaluate.ts';

/** The shape of eval.json (issue 15): accuracies in [0, 1]. */
export interface EvalFile {
  model: string;
  method: string;
  trainable_parameters: number | null;
  steps: number;
  seconds: number;
  adapter: string;
  tasks: Record<string, { n: number; before: number; after: number }>;
  mean: { before: number; after: number };
}

export function evalFile(o: { model: string; method: string; trainable: number | null; steps: number; seconds: number; adapter: string }, before: EvalResult, after: EvalResult): EvalFile {
  const tasks: EvalFile['tasks'] = {};
  for (const [t, s] of Object.entries(after.tasks)) tasks[t] = { n: s.n, before: before.tasks[t]?.accuracy ?? NaN, after: s.accuracy };
  return { model: o.model, method: o.method, trainable_parameters: o.trainable, steps: o.steps, seconds: o.seconds, adapter: o.adapter, tasks, mean: { before: before.mean, after: after.mean } };
}
