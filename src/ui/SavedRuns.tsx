// Runs saved in this browser (OPFS checkpoints): the newest first, each restorable (paused at its
// checkpoint, with its curves; a finished run finished) when the same model and dataset are loaded;
// Resume then continues it. A paused run that another replaces stays saved as paused.
import { useEffect } from 'react';
import { refreshSavedRuns, restoreRun, useStore } from './store/index.ts';

export function SavedRuns() {
  const saved = useStore((s) => s.run.saved);
  const busy = useStore((s) => s.run.starting || s.run.pending !== null || s.run.state?.status === 'running');
  const current = useStore((s) => s.run.state?.id ?? null);
  const paused = useStore((s) => (s.run.state?.status === 'paused' ? s.run.state.id : null));
  useEffect(() => {
    void refreshSavedRuns();
  }, []);
  return (
    <details className="saved-runs" data-testid="saved-runs" open={saved.length > 0}>
      <summary>Saved runs ({saved.length})</summary>
      {saved.length === 0 ? (
        <p className="muted">None yet: a run saves a checkpoint on pause, every few steps and at the end, and survives a reload.</p>
      ) : (
        <table className="runs">
          <thead>
            <tr><th>run</th><th>method</th><th>step</th><th>status</th><th>data</th><th>saved</th><th /></tr>
          </thead>
          <tbody>
            {saved.slice(0, 20).map((r) => {
              // Saved while running, and not the run here: the page closed while it trained.
              const interrupted = r.status === 'running' && r.id !== current;
              return (
                <tr key={r.id} data-testid="saved-run" data-run-id={r.id}>
                  <td title={r.id}>{r.id.replace(/^run-/, '').slice(0, 19)}</td>
                  <td>{r.config.method}</td>
                  <td className="num">{r.step} / {r.totalSteps}</td>
                  <td title={interrupted ? 'the page closed while it trained: restore it to go on from its last checkpoint' : undefined}>{interrupted ? 'interrupted' : r.status}</td>
                  <td title={`${r.model.source}, ${r.dataset.name}`}>{r.dataset.name}</td>
                  <td>{new Date(r.updated).toLocaleString()}</td>
                  <td>
                    <button
                      type="button" disabled={busy || r.id === current || !r.latest} data-testid="saved-run-restore" onClick={() => void restoreRun(r.id)}
                      title={paused ? 'replaces the paused run, which stays here as its last checkpoint has it' : undefined}
                    >
                      {r.id === current ? 'loaded' : 'Restore'}
                    </button>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {paused && saved.length > 1 && <p className="muted" data-testid="saved-runs-paused-note">Restoring another run replaces the paused one; it stays here as its last checkpoint has it.</p>}
    </details>
  );
}
