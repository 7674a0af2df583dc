// Intuition slice: the clustering of the training prompts (sizes, purity, NMI, the 2-D map with
// each point's cluster, task and prompt start), its progress while it computes, and UMAP frames.
import type { StateCreator } from 'zustand';
import type { IntuitionProgress, IntuitionResult } from '../../intuition/intuition.ts';
import type { ClusterMap } from '../../intuition/diagnostics.ts';

export interface IntuitionUiState {
  result: IntuitionResult | null;
  taskNames: string[];
  pointTasks: Int32Array | null;
  pointTexts: string[];
  /** The newest UMAP frame (points move while it runs); null: use result.projection. */
  frame: ClusterMap | null;
  progress: IntuitionProgress | null;
  computing: boolean;
  error: string | null;
}

export interface IntuitionSlice {
  intuition: IntuitionUiState;
  patchIntuition(p: Partial<IntuitionUiState>): void;
}

export const createIntuitionSlice: StateCreator<IntuitionSlice, [], [], IntuitionSlice> = (set) => ({
  intuition: { result: null, taskNames: [], pointTasks: null, pointTexts: [], frame: null, progress: null, computing: false, error: null },
  patchIntuition: (p) => set((s) => ({ intuition: { ...s.intuition, ...p } })),
});
