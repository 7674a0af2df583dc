// Bringing data: a file (picker or drag and drop), a URL, or the bundled suite (imported on first
// open, with its validation file); the recognised shape, counts per task, a token-length
// histogram, every problem with its line, and the rows a page at a time (text, never HTML). A
// file of no known shape offers its columns for a mapping; a failed import keeps the dataset.
import { useState } from 'react';
import { importDataset, importSuite, useStore } from './store/index.ts';
import { LengthHistogram, TaskCounts } from './DataCharts.tsx';
import { Note } from './Note.tsx';
import { DataPreview } from './DataPreview.tsx';
import { guessMapping } from '../data/shapes.ts';
import type { ColumnMapping, DatasetInput } from '../data/types.ts';

/**
 * The columns of a file of no known shape: which is the prompt, the answer, the task (and an
 * optional second prompt part). Preselected from the column names; one form per file (its key).
 */
function MappingForm({ name, columns, onImport }: { name: string; columns: string[]; onImport: (m: ColumnMapping) => void }) {
  const [guess] = useState(() => guessMapping(columns));
  const [mapping, setMapping] = useState<Partial<ColumnMapping>>(guess);
  const guessed = Object.keys(guess).length > 0;
  return (
    <form
      className="row"
      data-testid="data-mapping"
      onSubmit={(e) => {
        e.preventDefault();
        if (mapping.prompt && mapping.answer) onImport({ ...mapping, prompt: mapping.prompt, answer: mapping.answer });
      }}
    >
      <span>
        {name}: no known shape. Which columns are which?{guessed ? ' (guessed from the column names: check them)' : ''}
      </span>
      {(['prompt', 'input', 'answer', 'task'] as const).map((k) => (
        <label key={k} title={k === 'input' ? 'a second prompt part, appended after the prompt (optional)' : undefined}>
          {k === 'input' ? 'second prompt part (optional)' : k}{' '}
          <select data-testid={`map-${k}`} value={mapping[k] ?? ''} onChange={(e) => setMapping({ ...mapping, [k]: e.target.value || undefined })}>
            <option value="">{k === 'prompt' || k === 'answer' ? '(choose)' : '(none)'}</option>
            {columns.map((c) => <option key={c} value={c}>{c}</option>)}
          </select>
        </label>
      ))}
      <button type="submit" data-testid="map-import" disabled={!mapping.prompt || !mapping.answer}>Import with this mapping</button>
    </form>
  );
}

export function DataPanel() {
  const data = useStore((s) => s.data);
  const [url, setUrl] = useState('');
  const [dragging, setDragging] = useState(false);
  const [pending, setPending] = useState<DatasetInput | null>(null);
  const run = (input: DatasetInput, m?: ColumnMapping) => {
    setPending(input);
    void importDataset(input, m ? { mapping: m } : undefined);
  };
  const file = (f: File | undefined) => f && run({ name: f.name, blob: f });
  const r = data.result, u = data.unmapped;
  return (
    <section className="panel" data-testid="data-panel">
      <h2>Data</h2>
      <Note>
        The rows the adapter learns from: instruction and answer, with a task label. The loss falls on the answer only. The bundled suite (eight small tasks,
        4,000 training and 400 validation rows) is imported on first open; bring JSONL, JSON or CSV in any of the recognised shapes.
      </Note>
      <div className="row">
        <label>
          File (JSONL, JSON, CSV, TSV) <input type="file" accept=".jsonl,.ndjson,.json,.csv,.tsv,.txt" data-testid="data-file" onChange={(e) => file(e.target.files?.[0])} />
        </label>
        <button data-testid="data-suite" disabled={data.importing} onClick={() => (setPending(null), void importSuite())}>
          Use the bundled suite
        </button>
      </div>
      <form className="row" onSubmit={(e) => (e.preventDefault(), url.trim() && run({ url: url.trim() }))}>
        <label>URL <input data-testid="data-url" value={url} onChange={(e) => setUrl(e.target.value)} size={50} placeholder="https://example.org/tasks.jsonl" /></label>
        <button type="submit" disabled={data.importing || !url.trim()}>Import</button>
      </form>
      <div
        className={`dropzone${dragging ? ' over' : ''}`}
        data-testid="data-dropzone"
        onDragOver={(e) => (e.preventDefault(), setDragging(true))}
        onDragLeave={() => setDragging(false)}
        onDrop={(e) => {
          e.preventDefault();
          setDragging(false);
          file(e.dataTransfer.files[0]);
        }}
      >
        Drop a data file here
      </div>
      {data.importing && (
        <p data-testid="data-progress">
          {data.progress ? `${data.progress.phase}: ${data.progress.total ? `${Math.round((100 * data.progress.loaded) / data.progress.total)}%` : data.progress.loaded}` : 'starting…'}
        </p>
      )}
      {data.error && <p className="error-box" role="alert" data-testid="data-error">{data.error}</p>}
      {u && pending && <MappingForm key={`${u.name}|${(u.columns ?? []).join('\u0000')}`} name={u.name} columns={u.columns ?? []} onImport={(m) => run(pending, m)} />}
      {r && (
        <div data-testid="data-summary">
          <p>
            <strong>{r.name}</strong>
            {r.validationName && (
              <>
                {' '}and <strong>{r.validationName}</strong> (validation; counted together)
              </>
            )}
            : {r.format.toUpperCase()}, shape <code>{r.shape}</code>; {r.kept} rows kept of {r.rows} ({r.refused} refused, {r.truncated} truncated,{' '}
            {r.duplicates} duplicates); {r.multipleChoice} multiple choice; {r.tokenized ? `${r.train} train / ${r.validation} validation` : 'tokenized when a model loads'}.
          </p>
          <div className="data-charts">
            <TaskCounts tasks={r.tasks} />
            {r.lengths && <LengthHistogram lengths={r.lengths} />}
          </div>
          {r.problemCount > 0 && (
            <details data-testid="data-problems" open={r.refused > 0}>
              <summary>{r.problemCount} problem{r.problemCount === 1 ? '' : 's'}{r.problemCount > r.problems.length ? ` (first ${r.problems.length} shown)` : ''}</summary>
              <ol className="problems">
                {r.problems.map((p, i) => (
                  <li key={i}>line {p.line}{p.field ? `, ${p.field}` : ''}: {p.message}</li>
                ))}
              </ol>
            </details>
          )}
          <DataPreview />
        </div>
      )}
    </section>
  );
}
