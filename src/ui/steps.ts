// Each step's state at a glance for the left column: done, in progress, ready, or blocked (and
// why), derived from the store; no state of its own.
import type { StoreState } from './store/store.ts';
import type { StepId } from './store/uiSlice.ts';
import { checkMethod, FIELD_LABELS, firstError, isRouted, methodLabel, type Field } from './method.ts';
import { hasAdapter, noRouter } from './store/runSlice.ts';

export type StepStatus = 'done' | 'active' | 'ready' | 'blocked' | 'error';

export interface StepView {
  id: StepId;
  label: string;
  status: StepStatus;
  /** One short line: what is done, what is happening, or what it waits for. */
  detail: string;
}

export const STEP_LABELS: Record<StepId, string> = {
  model: 'Model', data: 'Data', method: 'Method', train: 'Train', experts: 'Experts', clusters: 'Clusters', evaluate: 'Evaluate', playground: 'Playground', export: 'Export',
};

/** A Method field as its label names it, lower-cased for the step's one line. */
const fieldName = (field: string) => {
  const label = FIELD_LABELS[field as Field] ?? field;
  return label[0].toLowerCase() + label.slice(1);
};
const plural = (n: number, noun: string) => `${n.toLocaleString('en-US')} ${noun}${n === 1 ? '' : 's'}`;
const pct = (a: number, b: number) => `${Math.round((100 * a) / Math.max(1, b))}%`;

export function stepViews(s: StoreState): StepView[] {
  const gpuReady = s.gpu.status === 'ready';
  const info = s.model.info;
  const data = s.data.result;
  const run = s.run.state;
  const loaded = s.run.loaded;
  const adapter = hasAdapter(s.run);
  const noGpu = s.gpu.status === 'unavailable' ? 'no WebGPU' : 'starting the GPU';
  const v = (id: StepId, status: StepStatus, detail: string): StepView => ({ id, label: STEP_LABELS[id], status, detail });

  const model = !gpuReady ? v('model', 'blocked', noGpu)
    : s.model.loading ? v('model', 'active', 'loading…')
    : info ? v('model', s.model.error ? 'error' : 'done', info.source.replace(/\/$/, '').split('/').pop() ?? info.source)
    : s.model.error ? v('model', 'error', 'loading failed') : v('model', 'ready', 'choose a model');

  const dataV = s.data.importing ? v('data', 'active', s.data.progress ? `${s.data.progress.phase}…` : 'importing…')
    : data ? (data.tokenized ? v('data', s.data.error ? 'error' : 'done', `${plural(data.kept, 'row')}, ${plural(Object.keys(data.tasks).length, 'task')}`) : v('data', 'blocked', 'tokenized when a model loads'))
    : s.data.error ? v('data', 'error', 'import failed') : !gpuReady ? v('data', 'blocked', noGpu) : v('data', 'ready', 'bring a dataset');

  const check = checkMethod(s.method, { info, data, limits: s.gpu.status === 'ready' ? s.gpu.limits : null });
  const bad = firstError(check);
  const methodName = methodLabel(s.method.method);
  const method = !info ? v('method', 'blocked', 'needs a model') : bad ? v('method', 'error', `fix ${fieldName(bad.split(':')[0])}`) : v('method', 'done', `${methodName}, ${check.trainable?.toLocaleString('en-US') ?? '?'} parameters`);

  const trainBlock = !info ? 'needs a model' : !data ? 'needs a dataset' : !data.tokenized ? 'data not tokenized' : bad ? 'method settings invalid' : null;
  const train = s.run.starting ? v('train', 'active', s.intuition.progress ? 'computing the intuition…' : 'starting…')
    : run?.status === 'running' ? v('train', 'active', `step ${run.step} / ${run.totalSteps} (${pct(run.step, run.totalSteps)})`)
    : run?.status === 'paused' ? v('train', 'active', `paused at step ${run.step}`)
    : run?.status === 'finished' ? v('train', 'done', `${run.step} steps`)
    : run?.status === 'failed' ? v('train', 'error', 'the run failed')
    : trainBlock ? v('train', 'blocked', trainBlock)
    : run?.status === 'stopped' ? v('train', 'done', `stopped at step ${run.step}`) : v('train', 'ready', 'ready to start');

  const experts = !run ? (loaded ? (isRouted(loaded.method) ? v('experts', 'ready', 'route a prompt') : v('experts', 'blocked', 'LoRA has no router')) : v('experts', 'blocked', 'after a run starts'))
    : noRouter(s.run) ? v('experts', 'blocked', 'LoRA has no router')
    : v('experts', run.status === 'running' ? 'active' : 'done', s.run.routerStats ? `${s.run.routerStats.length} layers` : 'routing per layer');

  const clusters = s.intuition.computing || (s.run.starting && s.intuition.progress) ? v('clusters', 'active', s.intuition.progress ? `${s.intuition.progress.phase}…` : 'computing…')
    : s.intuition.result ? v('clusters', 'done', `${s.intuition.result.k} clusters`)
    : !data?.tokenized ? v('clusters', 'blocked', 'needs tokenized data') : v('clusters', 'ready', 'not computed yet');

  const evaluate = s.evaluation.running ? v('evaluate', 'active', s.evaluation.running === 'base' ? 'base model…' : 'with the adapter…')
    : s.evaluation.error ? v('evaluate', 'error', 'evaluation failed')
    : s.evaluation.after ? v('evaluate', 'done', `mean ${(100 * s.evaluation.after.mean).toFixed(0)}% after`)
    : s.evaluation.before ? v('evaluate', 'done', `base mean ${(100 * s.evaluation.before.mean).toFixed(0)}%`)
    : !info || !data?.tokenized ? v('evaluate', 'blocked', 'needs a model and data') : v('evaluate', 'ready', adapter ? 'before and after' : 'the base model');

  const playground = !info ? v('playground', 'blocked', 'needs a model') : s.playground.generating ? v('playground', 'active', 'generating…') : v('playground', 'ready', adapter ? 'base or adapter' : 'the base model');

  const exportV = !info ? v('export', 'blocked', 'needs a model')
    : run ? v('export', 'ready', 'the run\'s adapter, or load one')
    : loaded ? v('export', 'done', `loaded ${methodLabel(loaded.method)} adapter`) : v('export', 'ready', 'load an adapter');

  return [model, dataV, method, train, experts, clusters, evaluate, playground, exportV];
}
