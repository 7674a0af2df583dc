// The store and its module-level actions (callable outside React): GPU start, model and dataset
// loading, generation, and the engine's events. Runs, evaluation and the intuition have their
// own action modules, re-exported here so components import from one place.
import type { DatasetInput, ImportOptions, ImportResult } from '../../data/types.ts';
import type { EngineEvent, GenerateResult, ModelInfo, ModelSource } from '../../worker/api.ts';
import { engineClient, message, useStore } from './store.ts';
import { onAdapterChanged, onRunMetrics } from './runActions.ts';
import { hasAdapter } from './runSlice.ts';

export { engineClient, useStore, type StoreState } from './store.ts';
export * from './runActions.ts';
export { hasAdapter, noRouter } from './runSlice.ts';
export * from './evalActions.ts';
export * from './intuitionActions.ts';

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
    case 'token': {
      const p = s.playground;
      if (p.streaming === 'base') s.patchPlayground({ output: p.output + e.text });
      else if (p.streaming === 'adapter') s.patchPlayground({ adapterOutput: p.adapterOutput + e.text });
      break;
    }
    case 'intuition-progress':
      s.patchIntuition({ progress: e.progress });
      break;
    case 'cluster-map':
      s.patchIntuition({ frame: e.map });
      break;
    case 'intuition':
      s.patchIntuition({ result: e.result, taskNames: e.taskNames, pointTasks: e.pointTasks, pointTexts: e.pointTexts, frame: null, progress: null, error: null });
      break;
    case 'run-metrics':
      onRunMetrics(e.rows, e.state);
      break;
    case 'adapter':
      onAdapterChanged(e);
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

// The first run's defaults load in the background on open; a model or dataset the user (or a test)
// asks for meanwhile waits for them, so it is never overwritten by the default arriving later.
let defaultsLoading: Promise<unknown> | null = null;
const afterDefaults = <T>(f: () => Promise<T>): Promise<T> => (defaultsLoading ? defaultsLoading.then(f, f) : f());

async function doLoadModel(source: ModelSource): Promise<ModelInfo | null> {
  const { patchModel } = useStore.getState();
  patchModel({ loading: true, error: null, files: {}, upload: null });
  try {
    const info = await engineClient().api.loadModel(source);
    patchModel({ loading: false, info });
    const s = useStore.getState();
    // Scores from the old model's hidden states mean nothing to the new one (the worker drops them too).
    if (s.intuition.result?.source === 'model') s.patchIntuition({ result: null, pointTasks: null, pointTexts: [], frame: null });
    s.patchEval({ before: null, after: null, beforeKey: null });
    s.patchRun({ error: null });
    return info;
  } catch (e) {
    patchModel({ loading: false, error: message(e) });
    return null;
  }
}

async function doImportDataset(input: DatasetInput, options?: ImportOptions): Promise<ImportResult | null> {
  const { patchData } = useStore.getState();
  patchData({ importing: true, error: null, progress: null });
  try {
    const result = await engineClient().api.importDataset(input, options);
    if (result.shape === 'unknown') patchData({ importing: false, unmapped: result });
    else {
      patchData({ importing: false, result, unmapped: null });
      // A new dataset has no intuition yet and its own evaluation.
      const s = useStore.getState();
      s.patchIntuition({ result: null, pointTasks: null, pointTexts: [], frame: null });
      s.patchEval({ before: null, after: null, beforeKey: null });
      // A run refusal about the data before (a restore asking for this file) no longer applies.
      s.patchRun({ error: null });
    }
    return result;
  } catch (e) {
    patchData({ importing: false, error: message(e) });
    return null;
  }
}

/** Loads a model; on failure the error is shown and the previous model stays loaded. */
export function loadModel(source: ModelSource): Promise<ModelInfo | null> {
  return afterDefaults(() => doLoadModel(source));
}

/** Imports a dataset in the worker; on failure the error is shown and the previous dataset stays. */
export function importDataset(input: DatasetInput, options?: ImportOptions): Promise<ImportResult | null> {
  return afterDefaults(() => doImportDataset(input, options));
}

const base = import.meta.env.BASE_URL;
/** The bundled model and suite (public/), served with the app: no network beyond this origin. */
export const BUNDLED_MODEL_URL = `${base}models/mor1e-tiny/`;
export const SUITE: DatasetInput = { url: `${base}data/suite/train.jsonl`, name: 'suite/train.jsonl' };
export const SUITE_OPTIONS: ImportOptions = { validation: { url: `${base}data/suite/validation.jsonl`, name: 'suite/validation.jsonl' } };

export const importSuite = () => importDataset(SUITE, SUITE_OPTIONS);

/**
 * The first run (issue 13): the bundled tiny model, then the bundled suite (tokenized once, with
 * that model), so a T-REX run can start with one button. Nothing already loaded is replaced.
 */
export function loadDefaults(): Promise<unknown> {
  defaultsLoading ??= (async () => {
    if (useStore.getState().gpu.status !== 'ready') return;
    if (!useStore.getState().model.info) await doLoadModel({ kind: 'url', url: BUNDLED_MODEL_URL });
    if (!useStore.getState().data.result) await doImportDataset(SUITE, SUITE_OPTIONS);
  })().finally(() => {
    defaultsLoading = null;
  });
  return defaultsLoading;
}

/** Generates from the playground's prompt; tokens stream in. Side by side: the base model, then the adapter. */
export async function generateText(): Promise<GenerateResult | null> {
  const { playground: p, patchPlayground } = useStore.getState();
  const adapter = hasAdapter(useStore.getState().run);
  patchPlayground({ generating: true, output: '', adapterOutput: '', error: null });
  // `into`: which output the text streams into ('base' is the single output when not side by side).
  const one = async (adapter: boolean, into: 'base' | 'adapter'): Promise<GenerateResult> => {
    patchPlayground({ streaming: into });
    const result = await engineClient().api.generate({
      prompt: p.useChat ? [{ role: 'user', content: p.prompt }] : p.prompt,
      maxNewTokens: p.maxNewTokens,
      temperature: p.temperature,
      topP: p.topP,
      adapter,
    });
    patchPlayground(into === 'adapter' ? { adapterOutput: result.text } : { output: result.text });
    return result;
  };
  try {
    let result: GenerateResult;
    if (p.sideBySide && adapter) {
      await one(false, 'base');
      result = await one(true, 'adapter');
    } else result = await one(p.adapter && adapter, 'base');
    patchPlayground({ generating: false, streaming: null });
    return result;
  } catch (e) {
    patchPlayground({ generating: false, streaming: null, error: message(e) });
    return null;
  }
}
