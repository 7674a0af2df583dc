// App entry: renders the studio, starts the engine worker, and in dev/test builds exposes the
// typed test API on window.mor1e (see README, Testing).
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './ui/App.tsx';
import { engineClient, importDataset, initGpu, loadModel, useStore } from './ui/store/index.ts';
import './ui/style.css';

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);

if (import.meta.env.DEV || import.meta.env.MODE === 'test') {
  window.mor1e = {
    gpuStatus: () => useStore.getState().gpu,
    gpuErrors: () => useStore.getState().gpuErrors,
    async loadModel(source) {
      const info = await loadModel(typeof source === 'string' ? { kind: 'url', url: source } : source);
      if (!info) throw new Error(useStore.getState().model.error ?? 'loading failed');
      return info;
    },
    modelState: () => useStore.getState().model,
    tokenize: (text, addSpecialTokens) => engineClient().api.tokenize(text, addSpecialTokens),
    logits: (ids) => engineClient().api.logits(ids),
    generate: (req) => engineClient().api.generate(req),
    adapterLayer: (spec, tensors) => engineClient().api.adapterLayer(spec, tensors),
    finetune: (req) => engineClient().api.finetune(req),
    async importDataset(input, options) {
      const result = await importDataset(input, options);
      if (!result) throw new Error(useStore.getState().data.error ?? 'importing failed');
      return result;
    },
    dataState: () => useStore.getState().data,
    peekBatches: (req) => engineClient().api.peekBatches(req),
  };
}

void initGpu();
