// The dataset at a glance: rows per task as bars, and the token lengths (prompt + answer + EOS)
// of the kept rows as a histogram, from the import's counts (drawn as SVG, text as text).
import type { ImportResult } from '../data/types.ts';

export function TaskCounts({ tasks }: { tasks: Record<string, number> }) {
  const entries = Object.entries(tasks);
  const max = Math.max(1, ...entries.map(([, n]) => n));
  return (
    <table className="tasks" data-testid="data-tasks">
      <caption>Rows per task</caption>
      <thead>
        <tr><th>task</th><th>rows</th><th aria-hidden="true" /></tr>
      </thead>
      <tbody>
        {entries.map(([t, n]) => (
          <tr key={t}>
            <td>{t}</td>
            <td className="num">{n.toLocaleString('en-US')}</td>
            <td className="bar-cell" aria-hidden="true"><span className="bar" style={{ width: `${(100 * n) / max}%` }} /></td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function LengthHistogram({ lengths }: { lengths: NonNullable<ImportResult['lengths']> }) {
  // Leading empty bins (shorter than the shortest row) say nothing.
  const first = lengths.histogram.findIndex((b) => b.count > 0);
  const bins = lengths.histogram.slice(Math.max(0, first));
  const max = Math.max(1, ...bins.map((b) => b.count));
  const W = 320, H = 120, pad = 18;
  const bw = (W - 2) / Math.max(1, bins.length);
  return (
    <figure className="histogram" data-testid="data-histogram">
      <figcaption>
        Tokens per row: min {lengths.min}, mean {lengths.mean.toFixed(1)}, max {lengths.max}
      </figcaption>
      <svg width={W} height={H + pad} role="img" aria-label={`Histogram of token lengths from ${lengths.min} to ${lengths.max}`}>
        {bins.map((b, i) => {
          const h = (H * b.count) / max;
          return (
            <g key={b.upTo}>
              <rect x={1 + i * bw} y={H - h} width={Math.max(1, bw - 2)} height={h} className="hist-bar">
                <title>{`up to ${b.upTo} tokens: ${b.count} rows`}</title>
              </rect>
              {(i % Math.ceil(bins.length / 8) === 0 || i === bins.length - 1) && (
                <text x={1 + i * bw + bw / 2} y={H + 13} textAnchor="middle" className="hist-label">{b.upTo}</text>
              )}
            </g>
          );
        })}
      </svg>
    </figure>
  );
}
