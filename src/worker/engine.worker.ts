// The engine worker: owns the GPUDevice and the Engine; exposes EngineApi through comlink.
import * as Comlink from 'comlink';
import { acquireDevice, adapterName, GpuUnavailableError } from '../gpu/device.ts';
import { Engine } from '../gpu/engine.ts';
import { SHADERS } from '../gpu/shaders.ts';
import type { EngineApi, EngineEvent, GpuInitResult } from './api.ts';

let engine: Engine | null = null;

const api: EngineApi = {
  async init(onEvent: (e: EngineEvent) => void): Promise<GpuInitResult> {
    if (engine && !engine.lost) engine.destroy();
    try {
      const ctx = await acquireDevice((self.navigator as Navigator).gpu);
      engine = new Engine(ctx, SHADERS);
      engine.onError((error) => onEvent({ type: 'gpu-error', error }));
      return { ok: true, adapter: ctx.adapter, adapterName: adapterName(ctx.adapter), features: ctx.features, limits: { ...ctx.limits } };
    } catch (e) {
      if (e instanceof GpuUnavailableError) return { ok: false, reason: e.reason, message: e.message };
      return { ok: false, reason: 'device-failed', message: `Starting the GPU engine failed: ${e instanceof Error ? e.message : String(e)}` };
    }
  },
};

Comlink.expose(api);
