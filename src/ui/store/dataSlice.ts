// Data slice: the imported dataset's result (counts, tasks, problems), import progress, and the
// last error. A failed import keeps the dataset that was imported before.
import type { StateCreator } from 'zustand';
import type { ImportResult } from '../../data/types.ts';
import type { ReadProgress } from '../../data/records.ts';

export interface DataState {
  importing: boolean;
  result: ImportResult | null;
  /** A file whose shape was not recognised: its columns wait for a mapping; `result` is unchanged. */
  unmapped: ImportResult | null;
  error: string | null;
  progress: ReadProgress | null;
}

export interface DataSlice {
  data: DataState;
  patchData(p: Partial<DataState>): void;
}

export const createDataSlice: StateCreator<DataSlice, [], [], DataSlice> = (set) => ({
  data: { importing: false, result: null, unmapped: null, error: null, progress: null },
  patchData: (p) => set((s) => ({ data: { ...s.data, ...p } })),
});
