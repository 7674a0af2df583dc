// The Train step: one button starts a run with the Method step's settings (T-REX on the bundled
// model and suite on first open); pause, resume, stop; a progress bar with the step, tokens per
// second and ETA; the intuition's progress before the first step; live curves; the saved runs.
import { pauseRun, resumeRun, startRun, stopRun, useStore } from './store/index.ts';
import { checkMethod, firstError, fromRunConfig, isGated, methodLabel, toRunConfig } from './method.ts';
import { TrainCharts } from './TrainCharts.tsx';
import { SavedRuns } from './SavedRuns.tsx';
import { Note } from './Note.tsx';
import type { RunConfig } from '../train/run.ts';

function eta(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '—';
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

const INTUITION_FROM = { model: 'the base model', encoder: 'a sentence encoder', supplied: 'the supplied embeddings' } as const;

/** A run's settings in one line (the Method form's, through toRunConfig, or a started or restored run's). */
function describe(c: RunConfig): string {
  const name = methodLabel(c.method);
  const size = c.method === 'trex' ? `${c.r1} x ${c.r2}` : c.method === 'mor1e' ? `E = ${c.E}` : `r = ${c.r}`;
  const gated = isGated(c.method);
  const routing = gated ? (c.topk ? `, top-${c.topk}` : ', dense') : '';
  const intuition = gated ? (c.intuition ? `, intuition from ${INTUITION_FROM[c.intuition.source]}` : ', no intuition') : '';
  const ablation = c.useRouter === false ? ' (no router)' : c.useIntuition === false ? ' (router only)' : '';
  const length = c.steps !== undefined ? `${c.steps} steps` : `${c.epochs} epoch${c.epochs === 1 ? '' : 's'}`;
  const accumulate = (c.accumulate ?? 1) > 1 ? ` x ${c.accumulate}` : '';
  return `${name} ${size}${routing}${intuition}${ablation}; lr ${c.lr} ${c.schedule}, ${length}, batch ${c.batchSize}${accumulate}`;
}

function Progress() {
  const st = useStore((s) => s.run.state);
  const starting = useStore((s) => s.run.starting);
  const prog = useStore((s) => s.intuition.progress);
  const pending = useStore((s) => s.run.pending);
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
      <span data-testid="run-status">
        {pending && st.status === 'running' ? `${pending}… (after this step)` : st.status === 'running' && st.step >= st.totalSteps ? 'finishing (validation loss, checkpoint)…' : st.status}
      </span>
      <span data-testid="run-tps">{Math.round(st.tokensPerSecond).toLocaleString('en-US')} tokens/s</span>
      <span>ETA {st.status === 'running' ? eta(st.etaSeconds) : '—'}</span>
      <span title="complete passes over the training split">{st.epoch} epoch{st.epoch === 1 ? '' : 's'} done</span>
      {st.skipped > 0 && <span className="warn" data-testid="run-skipped">{st.skipped} skipped</span>}
      <span className="muted" title="The estimated GPU memory of a training step: weights, activations, adapters and AdamW state">~{st.estimatedMiB} MiB of GPU memory</span>
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
  const patchMethod = useStore((s) => s.patchMethod);
  const st = run.state;
  const check = checkMethod(f, { info, data, limits: gpu.status === 'ready' ? gpu.limits : null });
  const bad = firstError(check);
  const blocked = !info ? 'Load a model first (Model step).' : !data ? 'Import a dataset first (Data step).' : !data.tokenized ? 'The dataset is being tokenized.' : bad ? `Fix the method settings first: ${bad}` : null;
  const active = st?.status === 'running' || st?.status === 'paused';
  const label = methodLabel(f.method);
  const next = describe(toRunConfig(f));
  // A started or restored run whose settings differ from the form's: both lines, so a finished
  // 6-step run is not shown beside the form's 600 steps as if they were its own. Only what the
  // line names is compared (a run differing in seed, targets or λ alone shows one line).
  const current = st && run.config ? describe(run.config) : null;
  const runLine = current !== null && current !== next ? current : null;
  return (
    <section className="panel" data-testid="train-panel">
      <h2>Train</h2>
      <Note>
        Trains the adapter on the training split in a background worker; the page stays responsive. The curves show every step&rsquo;s loss (and a smoothed
        line), the validation loss, the learning rate and the gradient norm; drag across a chart to zoom, double-click to zoom out. A checkpoint is saved on
        pause, every few steps and at the end, so a run can be resumed after a reload.
      </Note>
      {runLine && (
        <div className="run-setup">
          This run: <span data-testid="run-current-settings">{runLine}</span>{' '}
          <button type="button" className="link" data-testid="run-use-settings" title="Put this run's settings into the Method step, for the next run" onClick={() => patchMethod(fromRunConfig(run.config!, f))}>
            use these settings
          </button>
        </div>
      )}
      <div className="run-setup">
        {runLine && 'Next run: '}
        <span data-testid="run-settings">{next}</span>{' '}
        <button type="button" className="link" onClick={() => setStep('method')}>change</button>
      </div>
      <div className="row controls">
        <button type="button" className="primary" data-testid="train-start" disabled={!!blocked || active || run.starting} onClick={() => void startRun()}>
          Start {label} run
        </button>
        <button type="button" data-testid="train-pause" disabled={st?.status !== 'running' || run.pending !== null} onClick={() => void pauseRun()}>
          {run.pending === 'pausing' ? 'Pausing…' : 'Pause'}
        </button>
        <button type="button" data-testid="train-resume" disabled={st?.status !== 'paused' || run.pending !== null} onClick={() => void resumeRun()}>Resume</button>
        <button type="button" data-testid="train-stop" disabled={!active || run.pending === 'stopping'} onClick={() => void stopRun()}>
          {run.pending === 'stopping' ? 'Stopping…' : 'Stop'}
        </button>
      </div>
      {blocked && !active && <p className="muted" data-testid="train-blocked">{blocked}</p>}
      <Progress />
      {run.error && <p className="error-box" role="alert" data-testid="train-error">{run.error}</p>}
      {st?.error && <p className="error-box" role="alert" data-testid="run-error">{st.error}</p>}
      {st?.checkpointError && <p className="warn" data-testid="run-checkpoint-error">Saving a checkpoint failed (training goes on): {st.checkpointError}</p>}
      {st ? (
        <TrainCharts />
      ) : (
        <p className="muted" data-testid="train-no-run">
          {run.loaded
            ? `A loaded ${methodLabel(run.loaded.method)} adapter is active (Export step); a run shown here before keeps its checkpoint in the saved runs below. Start a new run, or restore a saved one.`
            : 'No run yet: the loss, learning rate and gradient norm curves appear here when training starts.'}
        </p>
      )}
      <SavedRuns />
    </section>
  );
}
