// Evaluate: per-task accuracy on the validation split before training (the base model) and after
// (through the adapter), as a table and paired bars, with the unweighted mean over tasks.
// Multiple-choice tasks show both scores: the greedy first token's letter (the paper's protocol)
// and the most likely choice letter.
import { evaluateBeforeAfter, hasAdapter, useStore } from './store/index.ts';
import { Note } from './Note.tsx';
import type { EvalResult, TaskScore } from '../train/evaluate.ts';

const pc = (v: number | undefined) => (v === undefined ? '—' : `${(100 * v).toFixed(1)}%`);

function Bars({ before, after }: { before?: number; after?: number }) {
  return (
    <span className="pair-bars" aria-hidden="true">
      <span className="bar before" style={{ width: `${100 * (before ?? 0)}%` }} />
      <span className="bar after" style={{ width: `${100 * (after ?? 0)}%` }} />
    </span>
  );
}

function Score({ s }: { s?: TaskScore }) {
  if (!s) return <>—</>;
  return (
    <>
      {pc(s.accuracy)}
      {s.likelihoodAccuracy !== undefined && <span className="muted"> / {pc(s.likelihoodAccuracy)}</span>}
    </>
  );
}

function ResultTable({ before, after }: { before: EvalResult | null; after: EvalResult | null }) {
  const tasks = [...new Set([...Object.keys(before?.tasks ?? {}), ...Object.keys(after?.tasks ?? {})])];
  return (
    <table className="eval" data-testid="eval-table">
      <thead>
        <tr><th>task</th><th>rows</th><th>before</th><th>after</th><th>change</th><th aria-label="bars" /></tr>
      </thead>
      <tbody>
        {tasks.map((t) => {
          const b = before?.tasks[t], a = after?.tasks[t];
          const d = a && b ? a.accuracy - b.accuracy : null;
          return (
            <tr key={t} data-testid="eval-row" data-task={t}>
              <td>{t}{(b ?? a)?.likelihoodAccuracy !== undefined && <span className="muted"> (choice)</span>}</td>
              <td className="num">{(b ?? a)!.n}</td>
              <td className="num" data-testid="eval-before"><Score s={b} /></td>
              <td className="num" data-testid="eval-after"><Score s={a} /></td>
              <td className={`num ${d === null ? '' : d > 0 ? 'good' : d < 0 ? 'bad' : ''}`}>{d === null ? '—' : `${d >= 0 ? '+' : ''}${(100 * d).toFixed(1)}`}</td>
              <td className="bar-cell"><Bars before={b?.accuracy} after={a?.accuracy} /></td>
            </tr>
          );
        })}
      </tbody>
      <tfoot>
        <tr>
          <th>mean</th>
          <td />
          <td className="num" data-testid="eval-mean-before">{pc(before?.mean)}</td>
          <td className="num" data-testid="eval-mean-after">{pc(after?.mean)}</td>
          <td className="num">{before && after ? `${after.mean >= before.mean ? '+' : ''}${(100 * (after.mean - before.mean)).toFixed(1)}` : '—'}</td>
          <td className="bar-cell"><Bars before={before?.mean} after={after?.mean} /></td>
        </tr>
      </tfoot>
    </table>
  );
}

export function EvaluatePanel() {
  const ev = useStore((s) => s.evaluation);
  const patch = useStore((s) => s.patchEval);
  const ready = useStore((s) => !!s.model.info && !!s.data.result?.tokenized && s.data.result.validation > 0);
  const run = useStore((s) => s.run.state);
  const adapter = useStore((s) => hasAdapter(s.run));
  const running = run?.status === 'running';
  return (
    <section className="panel" data-testid="evaluate-panel">
      <h2>Evaluate</h2>
      <Note>
        Accuracy per task on the validation rows, before training (the base model) and after (with the adapter). Multiple-choice tasks are scored by the
        first generated letter and, after the slash, by the most likely choice letter; generative tasks by an exact match of the answer.
      </Note>
      <div className="row">
        <label>
          Rows per task{' '}
          <select data-testid="eval-limit" value={ev.limit} onChange={(e) => patch({ limit: Number(e.target.value) })}>
            {[2, 5, 10, 25, 50, 0].map((n) => <option key={n} value={n}>{n === 0 ? 'all' : n}</option>)}
          </select>
        </label>
        <button type="button" className="primary" data-testid="eval-run" disabled={!ready || !!ev.running || running} onClick={() => void evaluateBeforeAfter()}>
          {adapter ? 'Evaluate before and after' : 'Evaluate the base model'}
        </button>
        {ev.running && <span data-testid="eval-progress">Evaluating {ev.running === 'base' ? 'the base model' : 'with the adapter'}…</span>}
        {running && <span className="muted">pause or let the run finish first</span>}
        {!ready && <span className="muted">needs a model and a dataset with validation rows</span>}
      </div>
      {ev.error && <p className="error-box" role="alert" data-testid="eval-error">{ev.error}</p>}
      {(ev.before || ev.after) && (
        <>
          <p className="legend-line"><span className="swatch before" /> before <span className="swatch after" /> after</p>
          <ResultTable before={ev.before} after={ev.after} />
        </>
      )}
    </section>
  );
}
