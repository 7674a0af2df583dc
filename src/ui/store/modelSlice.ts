// Model slice: what is loaded (info), what is loading (per-file download progress, upload
// progress), and the last error. A failed load keeps the model that was loaded before.
import type { StateCreator } from 'zustand';
import type { FileProgress } from '../../model/sources.ts';
import type { UploadProgress } from '../../model/gpuModel.ts';
import type { ModelInfo } from '../../worker/api.ts';

export interface ModelState {
  loading: boolean;
  info: ModelInfo | null;
  error: string | null;
  files: Record<string, FileProgress>;
  upload: UploadProgress | null;
}

export interface ModelSlice {
  model: ModelState;
  patchModel(p: Partial<ModelState>): void;
  fileProgress(p: FileProgress): void;
}

export const createModelSlice: StateCreator<ModelSlice, [], [], ModelSlice> = (set) => ({
  model: { loading: false, info: null, error: null, files: {}, upload: null },
  patchModel: (p) => set((s) => ({ model: { ...s.model, ...p } })),
  // A file's message (e.g. why it was not cached) stays while its later progress arrives.
  fileProgress: (p) => set((s) => ({ model: { ...s.model, files: { ...s.model.files, [p.file]: { ...p, message: p.message ?? s.model.files[p.file]?.message } } } })),
});
