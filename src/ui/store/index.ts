// The one zustand store, built from slices, and its module-level actions.
import { create } from 'zustand';
import { createGpuSlice, type GpuSlice } from './gpuSlice.ts';
import { createEngineClient, type EngineClient } from '../../worker/client.ts';

export type StoreState = GpuSlice;

export const useStore = create<StoreState>()((...a) => ({
  ...createGpuSlice(...a),
}));

let client: EngineClient | null = null;

export function engineClient(): EngineClient {
  client ??= createEngineClient();
  return client;
}

/** Starts the engine worker and acquires the GPU there; the result lands in `gpu`. */
export async function initGpu(): Promise<void> {
  const { setGpu, addGpuError } = useStore.getState();
  if (!('gpu' in navigator) || !navigator.gpu) {
    setGpu({
      status: 'unavailable',
      reason: 'no-webgpu',
      message:
        'This browser does not expose WebGPU (navigator.gpu is missing). Use a recent Chrome or Edge (113+) on ' +
        'desktop, or enable WebGPU: in Chrome open chrome://flags/#enable-unsafe-webgpu and set it to Enabled ' +
        '(on Linux also chrome://flags/#enable-vulkan), then restart the browser.',
    });
    return;
  }
  setGpu({ status: 'starting' });
  const c = engineClient();
  const result = await c.api.init(
    c.proxy((e) => {
      if (e.type === 'gpu-error') addGpuError(e.error);
    }),
  );
  if (result.ok) {
    const { ok: _ok, ...ready } = result;
    setGpu({ status: 'ready', ...ready });
  } else {
    const { ok: _ok, ...failed } = result;
    setGpu({ status: 'unavailable', ...failed });
  }
}
