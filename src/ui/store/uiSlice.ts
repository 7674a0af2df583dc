// UI slice: which step of the studio is open, and presentation mode (large type for projectors).
import type { StateCreator } from 'zustand';

export const STEPS = ['model', 'data', 'method', 'train', 'experts', 'clusters', 'evaluate', 'playground', 'export'] as const;
export type StepId = (typeof STEPS)[number];

export interface UiState {
  step: StepId;
  presentation: boolean;
}

export interface UiSlice {
  ui: UiState;
  setStep(step: StepId): void;
  patchUi(p: Partial<UiState>): void;
}

export const createUiSlice: StateCreator<UiSlice, [], [], UiSlice> = (set) => ({
  ui: { step: 'model', presentation: false },
  setStep: (step) => set((s) => ({ ui: { ...s.ui, step } })),
  patchUi: (p) => set((s) => ({ ui: { ...s.ui, ...p } })),
});
