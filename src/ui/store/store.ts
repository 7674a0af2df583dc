// The one zustand store, built from slices, and the engine client every action talks through.
import { create } from 'zustand';
import { createGpuSlice, type GpuSlice } from './gpuSlice.ts';
import { createModelSlice, type ModelSlice } from './modelSlice.ts';
import { createPlaygroundSlice, type PlaygroundSlice } from './playgroundSlice.ts';
import { createDataSlice, type DataSlice } from './dataSlice.ts';
import { createUiSlice, type UiSlice } from './uiSlice.ts';
import { createMethodSlice, type MethodSlice } from './methodSlice.ts';
import { createRunSlice, type RunSlice } from './runSlice.ts';
import { createIntuitionSlice, type IntuitionSlice } from './intuitionSlice.ts';
import { createEvalSlice, type EvalSlice } from './evalSlice.ts';
import { createEngineClient, type EngineClient } from '../../worker/client.ts';

export type StoreState = GpuSlice & ModelSlice & PlaygroundSlice & DataSlice & UiSlice & MethodSlice & RunSlice & IntuitionSlice & EvalSlice;

export const useStore = create<StoreState>()((...a) => ({
  ...createGpuSlice(...a),
  ...createModelSlice(...a),
  ...createPlaygroundSlice(...a),
  ...createDataSlice(...a),
  ...createUiSlice(...a),
  ...createMethodSlice(...a),
  ...createRunSlice(...a),
  ...createIntuitionSlice(...a),
  ...createEvalSlice(...a),
}));

let client: EngineClient | null = null;

export function engineClient(): EngineClient {
  client ??= createEngineClient();
  return client;
}

export const message = (e: unknown) => (e instanceof Error ? e.message : String(e));
