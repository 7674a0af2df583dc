// The imported rows as a table: instruction, output and task (with the row's file line and split),
// a page at a time from the worker (previewRows), text as text (React escapes it; nothing is
// rendered as HTML). The page reloads when the dataset changes (a new import, a new model's split).
import { useEffect, useState } from 'react';
import { engineClient, useStore } from './store/index.ts';
import { message } from './store/store.ts';
import type { PreviewResult } from '../data/types.ts';

export const PREVIEW_PAGE = 50;

type SplitFilter = 'all' | 'train' | 'validation';

/** "Rows 51–100 of 4,400": the page's range among the rows the filter keeps. */
export function pageLabel(offset: number, shown: number, total: number): string {
  if (!total) return 'No rows';
  return `Rows ${(offset + 1).toLocaleString('en-US')}–${(offset + shown).toLocaleString('en-US')} of ${total.toLocaleString('en-US')}`;
}

/** The offset of the last page's first row. */
export function lastPageOffset(total: number, page = PREVIEW_PAGE): number {
  return total > 0 ? Math.floor((total - 1) / page) * page : 0;
}

export function DataPreview() {
  const result = useStore((s) => s.data.result);
  const [offset, setOffset] = useState(0);
  const [split, setSplit] = useState<SplitFilter>('all');
  const [got, setGot] = useState<{ req: string; page: PreviewResult } | null>(null);
  const [error, setError] = useState<string | null>(null);
  // Which dataset the page belongs to: a new import (or its new split) starts again at the first page.
  const key = result ? `${result.name}|${result.kept}|${result.tokenized}|${result.train}` : '';
  const [seenKey, setSeenKey] = useState(key);
  if (key !== seenKey) {
    setSeenKey(key);
    setOffset(0);
    if (!result?.tokenized) setSplit('all');
  }
  const req = `${key}|${offset}|${split}`;
  useEffect(() => {
    if (!key) return;
    let live = true;
    engineClient()
      .api.previewRows({ offset, count: PREVIEW_PAGE, split })
      .then(
        (p) => {
          if (!live) return;
          setGot({ req: `${key}|${offset}|${split}`, page: p });
          setError(null);
        },
        (e) => {
          if (live) setError(message(e));
        },
      );
    return () => {
      live = false;
    };
  }, [key, offset, split]);
  if (!result) return null;
  const page = got?.page ?? null;
  const loading = got?.req !== req;
  const total = page?.total ?? 0;
  const rows = page?.rows ?? [];
  return (
    <section className="data-preview" data-testid="data-preview" aria-label="Rows of the dataset">
      <div className="row">
        <h3>Rows</h3>
        <label>
          Split{' '}
          <select data-testid="preview-split" value={split} onChange={(e) => (setSplit(e.target.value as SplitFilter), setOffset(0))}>
            <option value="all">all rows</option>
            <option value="train" disabled={!result.tokenized}>training</option>
            <option value="validation" disabled={!result.tokenized}>validation</option>
          </select>
        </label>
        <span className="pager" role="group" aria-label="Pages of rows">
          <button type="button" data-testid="preview-first" disabled={offset === 0} onClick={() => setOffset(0)} aria-label="First page">«</button>
          <button type="button" data-testid="preview-prev" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PREVIEW_PAGE))} aria-label="Previous page">‹ Previous</button>
          <span data-testid="preview-range" data-total={total} data-offset={page?.offset ?? offset} aria-live="polite">
            {loading && !page ? 'Reading…' : pageLabel(page?.offset ?? offset, rows.length, total)}
          </span>
          <button type="button" data-testid="preview-next" disabled={offset + PREVIEW_PAGE >= total} onClick={() => setOffset(offset + PREVIEW_PAGE)} aria-label="Next page">Next ›</button>
          <button type="button" data-testid="preview-last" disabled={offset >= lastPageOffset(total)} onClick={() => setOffset(lastPageOffset(total))} aria-label="Last page">»</button>
        </span>
      </div>
      {error && <p className="error-box" role="alert" data-testid="preview-error">{error}</p>}
      <div className="preview-scroll">
        <table className="preview" data-testid="preview-table">
          <thead>
            <tr>
              <th scope="col">#</th>
              <th scope="col">line</th>
              <th scope="col">task</th>
              <th scope="col">split</th>
              <th scope="col">instruction</th>
              <th scope="col">output</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.index} data-testid="preview-row" data-split={r.split ?? ''}>
                <td className="num">{r.index + 1}</td>
                <td className="num" title={r.file}>{r.file !== result.name ? `${r.file}:` : ''}{r.line}</td>
                <td>{r.task}</td>
                <td>{r.split ?? '—'}</td>
                <td className="cell-text">{r.instruction || <span className="muted">{r.kind === 'text' ? '(text row: loss on every token)' : '(empty)'}</span>}</td>
                <td className="cell-text">
                  {r.output}
                  {r.answerLetter && r.answerLetter !== r.output.trim() && <span className="muted"> (answer {r.answerLetter})</span>}
                  {r.clipped && <span className="muted"> … (cut for the preview)</span>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
