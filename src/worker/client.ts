// The UI side of the worker bridge: starts the worker, wraps it with comlink, and cancels
// everything in flight by terminating it.
import * as Comlink from 'comlink';
import type { EngineApi, EngineEvent } from './api.ts';

export interface EngineClient {
  api: Comlink.Remote<EngineApi>;
  /** Wraps a callback so the worker can call it back across the boundary. */
  proxy(fn: (e: EngineEvent) => void): (e: EngineEvent) => void;
  terminate(): void;
}

export function createEngineClient(): EngineClient {
  const worker = new Worker(new URL('./engine.worker.ts', import.meta.url), { type: 'module', name: 'mor1e-engine' });
  const api = Comlink.wrap<EngineApi>(worker);
  return {
    api,
    proxy: (fn) => Comlink.proxy(fn),
    terminate: () => {
      api[Comlink.releaseProxy]();
      worker.terminate();
    },
  };
}
