// The studio's run state in Node (no worker, no React): how the store follows the worker's active
// adapter ('adapter' events, in either order with a call's own result), the metric rows it keeps,
// and what the step list says with a run, a loaded adapter or none.
import { beforeEach, describe, expect, it } from 'vitest';
import { useStore } from '../src/ui/store/store.ts';
import { onAdapterChanged, onRunMetrics } from '../src/ui/store/runActions.ts';
import { metricRows, replaceMetrics } from '../src/ui/store/metrics.ts';
import { hasAdapter } from '../src/ui/store/runSlice.ts';
import { stepViews } from '../src/ui/steps.ts';
import type { MetricRow, RunConfig, RunState } from '../src/train/run.ts';
import type { AdapterInfo } from '../src/worker/api.ts';
import type { EvalResult } from '../src/train/evaluate.ts';

const state = (id: string, step: number, status: RunState['status'] = 'running'): RunState => ({
  status, step, totalSteps: 10, epoch: 0, tokensPerSecond: 1, etaSeconds: null, skipped: 0, id, estimatedMiB: 1, trainableParameters: 1,
});
const config = (steps: number): RunConfig => ({ method: 'trex', init: 'fresh', steps, batchSize: 2, lr: 0.005, schedule: 'cosine', seed: 0 });
const row = (step: number): MetricRow => ({ step, loss: 1, lr: 0.005, gradNorm: 1, skipped: false, tokens: 10, seconds: step });
const info = (method: AdapterInfo['method']): AdapterInfo => ({
  format: method === 'lora' ? 'peft' : 'mor1e', method, config: { method } as AdapterInfo['config'], layers: 2, parameters: 100, intuition: null, baseModel: null, warnings: [],
});
const run = () => useStore.getState().run;
const step = (id: string) => stepViews(useStore.getState()).find((v) => v.id === id)!;

beforeEach(() => {
  replaceMetrics([]);
  useStore.getState().patchRun({ state: null, config: null, loaded: null, routerStats: null, routerStatsStep: 0, routerHistory: [] });
  useStore.getState().patchEval({ after: null });
});

describe('the store follows the active adapter', () => {
  it('a new run (its event) replaces the run shown: its state and settings, no rows, no router readings yet', () => {
    onAdapterChanged({ source: 'run', info: null, config: config(6), state: state('W', 0) });
    onRunMetrics([row(1), row(2), row(3)], state('W', 3));
    useStore.getState().patchRun({ routerHistory: [{ step: 3, shares: [[1, 1]] }] });
    useStore.getState().patchEval({ after: { mean: 0.5 } as EvalResult });
    onAdapterChanged({ source: 'run', info: null, config: config(600), state: state('X', 0) });
    expect(run()).toMatchObject({ state: { id: 'X', step: 0 }, config: { steps: 600 }, loaded: null, routerHistory: [] });
    expect(metricRows()).toEqual([]);
    expect(useStore.getState().evaluation.after).toBeNull();
    // Its rows append; the same run's event arriving late keeps the newer state.
    onRunMetrics([row(1), row(2)], state('X', 2));
    onAdapterChanged({ source: 'run', info: null, config: config(600), state: state('X', 0) });
    expect(run().state).toMatchObject({ id: 'X', step: 2 });
    expect(metricRows().map((r) => r.step)).toEqual([1, 2]);
  });

  it('a loaded adapter frees the run shown (the worker dropped it); unloading leaves none', () => {
    onAdapterChanged({ source: 'run', info: null, config: config(6), state: state('W', 0) });
    onRunMetrics([row(1)], state('W', 1));
    expect(step('experts').status).toBe('active');
    onAdapterChanged({ source: 'loaded', info: info('trex'), config: null, state: null });
    expect(run()).toMatchObject({ state: null, config: null, loaded: { method: 'trex' } });
    expect(metricRows()).toEqual([]);
    expect(hasAdapter(run())).toBe(true);
    expect(step('experts')).toMatchObject({ status: 'ready', detail: 'route a prompt' });
    onAdapterChanged({ source: 'loaded', info: info('lora'), config: null, state: null });
    expect(step('experts')).toMatchObject({ status: 'blocked', detail: 'LoRA has no router' });
    onAdapterChanged({ source: null, info: null, config: null, state: null });
    expect(run()).toMatchObject({ state: null, loaded: null });
    expect(hasAdapter(run())).toBe(false);
    expect(step('experts')).toMatchObject({ status: 'blocked', detail: 'after a run starts' });
  });

  it('a run replacing a loaded adapter clears it', () => {
    onAdapterChanged({ source: 'loaded', info: info('trex'), config: null, state: null });
    onAdapterChanged({ source: 'run', info: null, config: config(6), state: state('Y', 0, 'paused') });
    expect(run()).toMatchObject({ loaded: null, state: { id: 'Y', status: 'paused' }, config: { steps: 6 } });
    expect(step('experts')).toMatchObject({ status: 'done' });
  });
});
