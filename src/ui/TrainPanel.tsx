// The Train step: one button starts a run with the Method step's settings (T-REX on the bundled
// model and suite on first open); pause, resume, stop; a progress bar with the step, tokens per
// second and ETA; the intuition's progress before the first step; live curves; the saved runs.
import { pauseRun, resumeRun, startRun, stopRun, useStore } from './store/index.ts';
import { checkMethod, firstError, isGated, METHODS } from './method.ts';
import { TrainCharts } from './TrainCharts.tsx';
import { SavedRuns } from './SavedRuns.tsx';
import { Note } from './Note.tsx';
import type { MethodForm } from './method.ts';

function eta(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '—';
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

function describe(f: MethodForm): string {
  const name = METHODS.find((m) => m.id === f.method)!.label;
  const size = f.method === 'trex' ? `${f.r1} x ${f.r2}` : f.method === 'mor1e' ? `E = ${f.E}` : `r = ${f.r}`;
  const routing = isGated(f.method) ? (f.routing === 'topk' ? `, top-${f.topk}` : ', dense') : '';
  const intuition = isGated(f.method) ? (f.intuition === 'none' ? ', no intuition' : `, intuition from ${f.intuition === 'model' ? 'the base model' : f.intuition}`) : '';
  const length = f.length === 'steps' ? `${f.steps} steps` : `${f.epochs} epoch${f.epochs > 1 ? 's' : ''}`;
  return `${name} ${size}${routing}${intuition}; lr ${f.lr} ${f.schedule}, ${length}, batch ${f.batchSize}${f.accumulate > 1 ? ` x ${f.accumulate}` : ''}`;
}

function Progress() {
  const st = useStore((s) => s.run.state);
  const starting = useStore((s) => s.run.starting);
  const prog = useStore((s) => s.intuition.progress);
  if (starting) {
    return (
      <div className="run-progress" data-testid="run-preparing">
        {prog ? (
          <>
            Computing the intuition: {prog.phase === 'embed' ? 'embedding the prompts' : prog.phase === 'cluster' ? 'clustering' : 'mapping'} {prog.done.toLocaleString('en-US')} / {prog.total.toLocaleString('en-US')}
            <progress max={prog.total} value={prog.done} />
          </>
        ) : (
          'Starting the run…'
        )}
      </div>
    );
  }
  if (!st) return null;
  return (
    <div className="run-progress" data-testid="run-progress" data-status={st.status} data-step={st.step}>
      <progress max={st.totalSteps} value={st.step} aria-label="Training progress" />
      <span data-testid="run-step">step {st.step} / {st.totalSteps}</span>
      <span>{st.status}</span>
      <span data-testid="run-tps">{Math.round(st.tokensPerSecond).toLocaleString('en-US')} tokens/s</span>
      <span>ETA {st.status === 'running' ? eta(st.etaSeconds) : '—'}</span>
      <span>epoch {st.epoch}</span>
      {st.skipped > 0 && <span className="warn" data-testid="run-skipped">{st.skipped} skipped</span>}
      <span className="muted">~{st.estimatedMiB} MiB</span>
    </div>
  );
}

export function TrainPanel() {
  const f = useStore((s) => s.method);
  const info = useStore((s) => s.model.info);
  const data = useStore((s) => s.data.result);
  const gpu = useStore((s) => s.gpu);
  const run = useStore((s) => s.run);
  const setStep = useStore((s) => s.setStep);
  const st = run.state;
  const check = checkMethod(f, { info, data, limits: gpu.status === 'ready' ? gpu.limits : null });
  const bad = firstError(check);
  const blocked = !info ? 'Load a model first (Model step).' : !data ? 'Import a dataset first (Data step).' : !data.tokenized ? 'The dataset is being tokenized.' : bad ? `Fix the method settings first: ${bad}` : null;
  const active = st?.status === 'running' || st?.status === 'paused';
  const label = METHODS.find((m) => m.id === f.method)!.label;
  return (
    <section className="panel" data-testid="train-panel">
      <h2>Train</h2>
      <Note>
        Trains the adapter on the training split in a background worker; the page stays responsive. The curves show every step&rsquo;s loss (and a smoothed
        line), the validation loss, the learning rate and the gradient norm; drag across a chart to zoom, double-click to zoom out. A checkpoint is saved on
        pause, every few steps and at the end, so a run can be resumed after a reload.
      </Note>
      <div className="run-setup">
        <span data-testid="run-settings">{describe(f)}</span>{' '}
        <button type="button" className="link" onClick={() => setStep('method')}>change</button>
      </div>
      <div className="row controls">
        <button type="button" className="primary" data-testid="train-start" disabled={!!blocked || active || run.starting} onClick={() => void startRun()}>
          Start {label} run
        </button>
        <button type="button" data-testid="train-pause" disabled={st?.status !== 'running'} onClick={() => void pauseRun()}>Pause</button>
        <button type="button" data-testid="train-resume" disabled={st?.status !== 'paused'} onClick={() => void resumeRun()}>Resume</button>
        <button type="button" data-testid="train-stop" disabled={!active} onClick={() => void stopRun()}>Stop</button>
      </div>
      {blocked && !active && <p className="muted" data-testid="train-blocked">{blocked}</p>}
      <Progress />
      {run.error && <p className="error-box" role="alert" data-testid="train-error">{run.error}</p>}
      {st?.error && <p className="error-box" role="alert" data-testid="run-error">{st.error}</p>}
      {st?.checkpointError && <p className="warn" data-testid="run-checkpoint-error">Saving a checkpoint failed (training goes on): {st.checkpointError}</p>}
      <TrainCharts />
      <SavedRuns />
    </section>
  );
}
