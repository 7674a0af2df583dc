// The one typed API between the UI and the engine worker (types only; no code runs here).
// Calls are coarse; progress and GPU errors arrive through one proxied callback.
import type { AdapterDescription, GpuUnavailableReason, OptionalFeature } from '../gpu/device.ts';
import type { GpuErrorReport } from '../gpu/engine.ts';

export interface GpuReady {
  ok: true;
  adapter: AdapterDescription;
  adapterName: string;
  features: OptionalFeature[];
  limits: Record<string, number>;
}

export interface GpuFailed {
  ok: false;
  reason: GpuUnavailableReason;
  /** Written for the user: what is wrong and which browser flag or setting to try. */
  message: string;
}

export type GpuInitResult = GpuReady | GpuFailed;

export type EngineEvent = { type: 'gpu-error'; error: GpuErrorReport };

export interface EngineApi {
  /** Acquires the device inside the worker; never throws for a missing GPU, it says why. */
  init(onEvent: (e: EngineEvent) => void): Promise<GpuInitResult>;
}
