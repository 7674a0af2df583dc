// GPU slice: the worker's device status (adapter, limits, features) or the reason there is none,
// and the GPU errors it reported. Actions live at module level (callable outside React).
import type { StateCreator } from 'zustand';
import type { GpuFailed, GpuReady } from '../../worker/api.ts';
import type { GpuErrorReport } from '../../gpu/engine.ts';

export type GpuState =
  | { status: 'idle' }
  | { status: 'starting' }
  | ({ status: 'ready' } & Omit<GpuReady, 'ok'>)
  | ({ status: 'unavailable' } & Omit<GpuFailed, 'ok'>);

export interface GpuSlice {
  gpu: GpuState;
  /** Newest last, at most 50. */
  gpuErrors: GpuErrorReport[];
  setGpu(gpu: GpuState): void;
  addGpuError(e: GpuErrorReport): void;
}

export const createGpuSlice: StateCreator<GpuSlice, [], [], GpuSlice> = (set) => ({
  gpu: { status: 'idle' },
  gpuErrors: [],
  setGpu: (gpu) => set({ gpu }),
  addGpuError: (e) => set((s) => ({ gpuErrors: [...s.gpuErrors, e].slice(-50) })),
});
