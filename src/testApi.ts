// The typed test API on window.mor1e (dev and test builds only). Later issues add calls.
import type { GpuState } from './ui/store/gpuSlice.ts';
import type { GpuErrorReport } from './gpu/engine.ts';

export interface Mor1eTestApi {
  gpuStatus(): GpuState;
  gpuErrors(): GpuErrorReport[];
}

declare global {
  interface Window {
    mor1e?: Mor1eTestApi;
  }
}
