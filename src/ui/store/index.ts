// The one zustand store, built from slices, and its module-level actions (callable outside React).
import { create } from 'zustand';
import { createGpuSlice, type GpuSlice } from './gpuSlice.ts';
import { createModelSlice, type ModelSlice } from './modelSlice.ts';
import { createPlaygroundSlice, type PlaygroundSlice } from './playgroundSlice.ts';
import { createDataSlice, type DataSlice } from './dataSlice.ts';
import type { DatasetInput, ImportOptions, ImportResult } from '../../data/types.ts';
import { createEngineClient, type EngineClient } from '../../worker/client.ts';
import type { EngineEvent, GenerateResult, ModelInfo, ModelSource } from '../../worker/api.ts';

export type StoreState = GpuSlice & ModelSlice & PlaygroundSlice & DataSlice;

export const useStore = create<StoreState>()((...a) => ({
  ...createGpuSlice(...a),
  ...createModelSlice(...a),
  ...createPlaygroundSlice(...a),
  ...createDataSlice(...a),
}));

let client: EngineClient | null = null;

export function engineClient(): EngineClient {
  client ??= createEngineClient();
  return client;
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

function onEngineEvent(e: EngineEvent): void {
  const s = useStore.getState();
  switch (e.type) {
    case 'gpu-error':
      s.addGpuError(e.error);
      break;
    case 'file':
      s.fileProgress(e.progress);
      break;
    case 'upload':
      s.patchModel({ upload: e.progress });
      break;
    case 'dataset-progress':
      s.patchData({ progress: e.progress });
      break;
    case 'dataset':
      s.patchData({ result: e.result, error: e.error ?? null });
      break;
    case 'token':
      if (s.playground.generating) s.patchPlayground({ output: s.playground.output + e.text });
      break;
  }
}

/** Starts the engine worker and acquires the GPU there; the result lands in `gpu`. */
export async function initGpu(): Promise<void> {
  const { setGpu } = useStore.getState();
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
  const result = await c.api.init(c.proxy(onEngineEvent));
  if (result.ok) {
    const { ok: _ok, ...ready } = result;
    setGpu({ status: 'ready', ...ready });
  } else {
    const { ok: _ok, ...failed } = result;
    setGpu({ status: 'unavailable', ...failed });
  }
}

/** Loads a model; on failure the error is shown and the previous model stays loaded. */
export async function loadModel(source: ModelSource): Promise<ModelInfo | null> {
  const { patchModel } = useStore.getState();
  patchModel({ loading: true, error: null, files: {}, upload: null });
  try {
    const info = await engineClient().api.loadModel(source);
    patchModel({ loading: false, info });
    return info;
  } catch (e) {
    patchModel({ loading: false, error: message(e) });
    return null;
  }
}

/** Generates from the playground's prompt and settings; tokens stream into `output`. */
export async function generateText(): Promise<GenerateResult | null> {
  const { playground: p, patchPlayground } = useStore.getState();
  patchPlayground({ generating: true, output: '', error: null });
  try {
    const result = await engineClient().api.generate({
      prompt: p.useChat ? [{ role: 'user', content: p.prompt }] : p.prompt,
      maxNewTokens: p.maxNewTokens,
      temperature: p.temperature,
      topP: p.topP,
    });
    patchPlayground({ generating: false, output: result.text });
    return result;
  } catch (e) {
    patchPlayground({ generating: false, error: message(e) });
    return null;
  }
}

/** Imports a dataset in the worker; on failure the error is shown and the previous dataset stays. */
export async function importDataset(input: DatasetInput, options?: ImportOptions): Promise<ImportResult | null> {
  const { patchData } = useStore.getState();
  patchData({ importing: true, error: null, progress: null });
  try {
    const result = await engineClient().api.importDataset(input, options);
    if (result.shape === 'unknown') patchData({ importing: false, unmapped: result });
    else patchData({ importing: false, result, unmapped: null });
    return result;
  } catch (e) {
    patchData({ importing: false, error: message(e) });
    return null;
  }
}
