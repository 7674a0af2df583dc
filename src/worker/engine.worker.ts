// The engine worker: the engine (engineApi.ts) in a Web Worker, with the browser's WebGPU and the
// shaders Vite bundles, exposed to the UI through comlink (client.ts).
import * as Comlink from 'comlink';
import { SHADERS } from '../gpu/shaders.ts';
import { api, setEngineHost } from './engineApi.ts';

setEngineHost({ gpu: () => (self.navigator as Navigator).gpu, shaders: SHADERS, baseUrl: () => self.location.href, checkpoints: true });
Comlink.expose(api);
