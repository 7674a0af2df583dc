// Evaluation actions: per-task accuracy on the validation split before training (the base model,
// computed once per model, dataset and row limit) and after (through the active adapter: the run's or a loaded one).
import type { EvalResult } from '../../train/evaluate.ts';
import { engineClient, message, useStore } from './store.ts';
import { hasAdapter } from './runSlice.ts';

function baseKey(): string {
  const s = useStore.getState();
  return `${s.model.info?.source}|${s.data.result?.name}|${s.data.result?.kept}|${s.evaluation.limit}`;
}

async function evaluateOne(adapter: boolean): Promise<EvalResult> {
  const limit = useStore.getState().evaluation.limit;
  return engineClient().api.evaluate({ split: 'validation', adapter, ...(limit > 0 ? { limit } : {}) });
}

/** Evaluates the base model (unless already done for this model, data and limit) and, when a run exists, the adapter. */
export async function evaluateBeforeAfter(): Promise<void> {
  const { patchEval } = useStore.getState();
  patchEval({ error: null });
  try {
    const key = baseKey();
    if (useStore.getState().evaluation.beforeKey !== key || !useStore.getState().evaluation.before) {
      patchEval({ running: 'base' });
      const before = await evaluateOne(false);
      patchEval({ before, beforeKey: key });
    }
    if (hasAdapter(useStore.getState().run)) {
      patchEval({ running: 'adapter' });
      patchEval({ after: await evaluateOne(true) });
    }
    patchEval({ running: null });
  } catch (e) {
    patchEval({ running: null, error: message(e) });
  }
}
