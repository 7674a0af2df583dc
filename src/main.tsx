// App entry: renders the studio, starts the engine worker, and in dev/test builds exposes the
// typed test API on window.mor1e (see README, Testing).
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './ui/App.tsx';
import { engineClient, importDataset, initGpu, loadDefaults, loadModel, refreshSavedRuns, useStore } from './ui/store/index.ts';
import './ui/style.css';

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);

/**
 * The first run loads the bundled model and suite on open. A page driven by automation
 * (navigator.webdriver: the Playwright specs) starts empty, so specs that load their own fixtures
 * through window.mor1e see only those; `?first-run=1` (or `=0`) overrides either way.
 */
function firstRunWanted(): boolean {
  const q = new URLSearchParams(location.search).get('first-run');
  return q !== null ? q !== '0' : !navigator.webdriver;
}

// The engine starts once; test-API calls made before it is up wait for it (or its failure).
const gpuStarted = initGpu().then(() => {
  void refreshSavedRuns();
  if (firstRunWanted()) void loadDefaults();
});

if (import.meta.env.DEV || import.meta.env.MODE === 'test') {
  const api = async () => {
    await gpuStarted;
    return engineClient().api;
  };
  window.mor1e = {
    gpuStatus: () => useStore.getState().gpu,
    gpuErrors: () => useStore.getState().gpuErrors,
    async loadModel(source) {
      await gpuStarted;
      const info = await loadModel(typeof source === 'string' ? { kind: 'url', url: source } : source);
      if (!info) throw new Error(useStore.getState().model.error ?? 'loading failed');
      return info;
    },
    modelState: () => useStore.getState().model,
    loadEncoder: async (source) => (await api()).loadEncoder(typeof source === 'string' ? { kind: 'url', url: source } : source),
    embedTexts: async (texts, opts) => (await api()).embedTexts(texts, opts),
    tokenize: async (text, addSpecialTokens) => (await api()).tokenize(text, addSpecialTokens),
    logits: async (ids, opts) => (await api()).logits(ids, opts),
    routing: async (req) => (await api()).routing(req),
    exportAdapter: async (req) => (await api()).exportAdapter(req),
    loadAdapter: async (source) => (await api()).loadAdapter(source),
    unloadAdapter: async () => (await api()).unloadAdapter(),
    generate: async (req) => (await api()).generate(req),
    adapterLayer: async (spec, tensors) => (await api()).adapterLayer(spec, tensors),
    finetune: async (req) => (await api()).finetune(req),
    async importDataset(input, options) {
      await gpuStarted;
      const result = await importDataset(input, options);
      if (!result) throw new Error(useStore.getState().data.error ?? 'importing failed');
      return result;
    },
    dataState: () => useStore.getState().data,
    peekBatches: async (req) => (await api()).peekBatches(req),
    kmeans: async (req) => (await api()).kmeans(req),
    intuition: async (req) => (await api()).intuition(req),
    intuitionScores: async (texts) => (await api()).intuitionScores(texts),
    modelEmbeddings: async (texts, layer) => (await api()).modelEmbeddings(texts, layer),
    startRun: async (config) => (await api()).startRun(config),
    pauseRun: async () => (await api()).pauseRun(),
    resumeRun: async () => (await api()).resumeRun(),
    stopRun: async () => (await api()).stopRun(),
    runState: async () => (await api()).runState(),
    metrics: async () => (await api()).metrics(),
    routerStats: async () => (await api()).routerStats(),
    evaluate: async (req) => (await api()).evaluate(req),
    runs: async () => (await api()).runs(),
    forceGpuError: async () => (await api()).forceGpuError(),
    restoreRun: async (id) => (await api()).restoreRun(id),
  };
}

