// The run's metric rows, outside the zustand store: they arrive several times a second and a chart
// redraws its canvas from them (subscribeMetrics) without any React re-render. Bounded like the
// worker's history (MAX_METRIC_ROWS).
import { MAX_METRIC_ROWS, type MetricRow } from '../../train/run.ts';

let rows: MetricRow[] = [];
const listeners = new Set<() => void>();

const notify = () => listeners.forEach((f) => f());

export function metricRows(): readonly MetricRow[] {
  return rows;
}

export function appendMetrics(more: MetricRow[]): void {
  if (!more.length) return;
  // Rows come in step order; a repeated step (a restored run's history then live rows) replaces nothing twice.
  const last = rows.length ? rows[rows.length - 1].step : 0;
  rows = rows.concat(more.filter((r) => r.step > last));
  if (rows.length > MAX_METRIC_ROWS) rows = rows.filter((_, i) => i % 2 === 1 || i >= rows.length - 1000);
  notify();
}

export function replaceMetrics(all: MetricRow[]): void {
  rows = all.slice();
  notify();
}

export function subscribeMetrics(f: () => void): () => void {
  listeners.add(f);
  return () => listeners.delete(f);
}
