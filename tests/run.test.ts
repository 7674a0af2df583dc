// The run loop's control flow (src/train/run.ts) with a stand-in trainer and dataset: pause and
// resume, stop while a pause is still writing its checkpoint, release() of a paused run that a
// restore replaces (its loop ends with no checkpoint and no report), and a restored run with no
// step left coming back finished. The GPU side of a run is covered by e2e/runs.spec.ts.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseModelConfig } from '../src/model/config.ts';
import { Run, type MetricRow, type RunConfig, type RunHooks, type RunState, type RunStatus } from '../src/train/run.ts';
import type { Engine } from '../src/gpu/engine.ts';
import type { GpuModel } from '../src/model/gpuModel.ts';
import type { Dataset } from '../src/data/dataset.ts';
import type { DataCursor } from '../src/data/types.ts';
import type { GpuTrainer, TrainerState } from '../src/train/trainer.ts';
import { MODELS_DIR } from './modelFixtures.ts';

const spec = parseModelConfig(JSON.parse(readFileSync(join(MODELS_DIR, 'tiny-llama', 'config.json'), 'utf8')));
const CONFIG: RunConfig = { method: 'lora', r: 2, init: 'fresh', steps: 6, batchSize: 2, lr: 1e-3, schedule: 'constant', seed: 1 };

/** A trainer whose steps are counted, each taking a tick, with a loss history like the GPU's. */
function fakeTrainer() {
  let steps = 0;
  const t = {
    get steps() {
      return steps;
    },
    async accumulateStep() {
      await new Promise((r) => setTimeout(r, 1));
      steps++;
    },
    async history(from = 0) {
      return Array.from({ length: steps - from }, (_, i) => ({ step: from + i + 1, loss: 1 / (from + i + 1), skipped: false, gradNorm: 1 }));
    },
    async validationLoss() {
      return 0.5;
    },
    loadState(st: TrainerState) {
      steps = st.step;
    },
    destroy() {},
  };
  return t as unknown as GpuTrainer;
}

function fakeData(): Dataset {
  let cursor: DataCursor = { seed: 1, epoch: 0, position: 0, rngState: 1, batchSize: 2, maxLength: 16, padTo: null };
  const d = {
    rows: (split: string) => (split === 'train' ? [0, 1, 2, 3] : []),
    options: { maxLength: 16 },
    result: () => ({ lengths: { max: 8 } }),
    startReading: (_: unknown, c?: DataCursor) => void (cursor = c ?? cursor),
    nextBatch: () => {
      cursor = { ...cursor, position: cursor.position + 1 };
      return { B: 2, T: 4, ids: new Array(8).fill(1), targets: new Array(8).fill(1), mask: new Array(8).fill(1), task: [0, 0], s: null };
    },
    get cursor() {
      return cursor;
    },
  };
  return d as unknown as Dataset;
}

const engine = { errors: [], onError: () => () => {}, ctx: { limits: { maxStorageBufferBindingSize: 2 ** 30, maxBufferSize: 2 ** 30 } } } as unknown as Engine;
const model = { spec, plan: { weightBytes: 0 } } as unknown as GpuModel;

/** Hooks that record every report and checkpoint; `hold` makes the next 'paused' checkpoint wait for `let()`. */
function recorder() {
  const reports: RunState[] = [], checkpoints: RunStatus[] = [];
  let gate: { wait: Promise<void>; open: () => void } | null = null;
  const hooks: RunHooks = {
    onMetrics: (_rows: MetricRow[], state) => void reports.push(state),
    onCheckpoint: async (_run, status) => {
      checkpoints.push(status);
      if (status === 'paused' && gate) await gate.wait;
    },
  };
  return {
    hooks, reports, checkpoints,
    hold() {
      let open!: () => void;
      gate = { wait: new Promise<void>((r) => (open = r)), open: () => open() };
    },
    let: () => gate!.open(),
  };
}

/** A run started on the stand-ins, with its recorder and loop. */
function started(id: string) {
  const rec = recorder();
  const run = new Run(engine, model, fakeData(), CONFIG, rec.hooks, { id, k: null, trainer: fakeTrainer() });
  return { rec, run, done: run.start() };
}

const until = async (ok: () => boolean) => {
  for (let i = 0; i < 2000 && !ok(); i++) await new Promise((r) => setTimeout(r, 1));
  expect(ok()).toBe(true);
};

describe('Run control', () => {
  it('pauses between steps after its checkpoint, resumes and finishes', async () => {
    const { rec, run, done } = started('a');
    await until(() => run.trainer.steps >= 2);
    run.pause();
    await until(() => run.state().status === 'paused');
    expect(rec.checkpoints).toEqual(['paused']);
    run.resume();
    await done;
    expect(run.state()).toMatchObject({ status: 'finished', step: 6 });
    expect(rec.checkpoints).toEqual(['paused', 'finished']);
  });

  it('a stop that comes while the pause is writing its checkpoint ends the run (it used to wait paused for ever)', async () => {
    const { rec, run, done } = started('b');
    await until(() => run.trainer.steps >= 1);
    rec.hold();
    run.pause();
    await until(() => rec.checkpoints.includes('paused'));
    run.stop();
    expect(run.stopping).toBe(true);
    rec.let();
    const ended = await Promise.race([done.then(() => 'ended'), new Promise((r) => setTimeout(() => r('hung'), 2000))]);
    expect(ended).toBe('ended');
    expect(run.state().status).toBe('stopped');
    expect(rec.checkpoints).toEqual(['paused', 'stopped']);
  });

  it('release() ends a paused run\'s loop with no checkpoint and no report; only a paused run can be released', async () => {
    const { rec, run, done } = started('c');
    await expect(run.release()).rejects.toThrow(/only a paused run can be released; this one is running/);
    await until(() => run.trainer.steps >= 2);
    run.pause();
    await until(() => run.state().status === 'paused');
    const reports = rec.reports.length, checkpoints = rec.checkpoints.length;
    await run.release();
    await done; // the loop has ended
    expect(rec.reports.length).toBe(reports);
    expect(rec.checkpoints.length).toBe(checkpoints);
    expect(run.state().status).toBe('paused'); // as its checkpoint has it
  });

  it('a restored run with steps left waits paused; one with none left is finished and cannot resume', () => {
    const state = (step: number): TrainerState => ({ step, tensors: {}, guard: new Uint32Array(4), history: new Float32Array(0) });
    const cursor: DataCursor = { seed: 1, epoch: 1, position: 0, rngState: 1, batchSize: 2, maxLength: 16, padTo: null };
    const rows = (n: number): MetricRow[] => Array.from({ length: n }, (_, i) => ({ step: i + 1, loss: 1, lr: 1e-3, gradNorm: 1, skipped: false, tokens: 8, seconds: i }));
    const half = new Run(engine, model, fakeData(), CONFIG, recorder().hooks, { id: 'd', k: null, trainer: fakeTrainer() });
    half.restored(state(3), rows(3), 3, cursor);
    expect(half.state()).toMatchObject({ status: 'paused', step: 3 });
    const whole = new Run(engine, model, fakeData(), CONFIG, recorder().hooks, { id: 'e', k: null, trainer: fakeTrainer() });
    whole.restored(state(6), rows(6), 6, cursor);
    expect(whole.state()).toMatchObject({ status: 'finished', step: 6 });
    expect(() => whole.resume()).toThrow(/the run is finished, not paused/);
  });
});
