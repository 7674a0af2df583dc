// Evaluation slice: per-task accuracy of the base model (before) and with the adapter (after) on
// the validation split, at most `limit` rows per task, and which of the two is being computed.
import type { StateCreator } from 'zustand';
import type { EvalResult } from '../../train/evaluate.ts';

export interface EvalUiState {
  before: EvalResult | null;
  after: EvalResult | null;
  /** What `before` was computed on, so a new model, dataset or limit computes it again. */
  beforeKey: string | null;
  running: 'base' | 'adapter' | null;
  /** Rows per task (0 = all). */
  limit: number;
  error: string | null;
}

export interface EvalSlice {
  evaluation: EvalUiState;
  patchEval(p: Partial<EvalUiState>): void;
}

export const createEvalSlice: StateCreator<EvalSlice, [], [], EvalSlice> = (set) => ({
  evaluation: { before: null, after: null, beforeKey: null, running: null, limit: 10, error: null },
  patchEval: (p) => set((s) => ({ evaluation: { ...s.evaluation, ...p } })),
});
