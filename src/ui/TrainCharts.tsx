// The run's live curves: loss (every step, and smoothed), validation loss, learning rate and
// gradient norm; steps the guard skipped (non-finite loss or gradient) are marked on the loss.
import type uPlot from 'uplot';
import { MetricChart } from './MetricChart.tsx';
import type { MetricRow } from '../train/run.ts';

const finite = (v: number | undefined) => (v !== undefined && Number.isFinite(v) ? v : null);

/** Exponential moving average, debiased (as Adam's moments), over the finite losses. */
function buildLoss(rows: readonly MetricRow[]): uPlot.AlignedData {
  const n = rows.length;
  const x = new Array<number>(n), raw = new Array<number | null>(n), smooth = new Array<number | null>(n), val = new Array<number | null>(n), skip = new Array<number | null>(n);
  const beta = 0.9;
  let ema = 0, seen = 0, last: number | null = null;
  for (let i = 0; i < n; i++) {
    const r = rows[i];
    x[i] = r.step;
    const l = r.skipped ? null : finite(r.loss);
    raw[i] = l;
    if (l !== null) {
      ema = beta * ema + (1 - beta) * l;
      seen++;
      last = ema / (1 - beta ** seen);
    }
    smooth[i] = l !== null ? last : null;
    val[i] = finite(r.valLoss);
    skip[i] = r.skipped ? (last ?? 0) : null;
  }
  return [x, raw, smooth, val, skip];
}

/** The latest row (from the end) that `ok` accepts. */
function lastWhere(rows: readonly MetricRow[], ok: (r: MetricRow) => boolean): MetricRow | null {
  for (let i = rows.length - 1; i >= 0; i--) if (ok(rows[i])) return rows[i];
  return null;
}

/** The last step's loss (and the last validation loss) in words. */
function latestLoss(rows: readonly MetricRow[]): string {
  const last = lastWhere(rows, (r) => !r.skipped && Number.isFinite(r.loss));
  const val = lastWhere(rows, (r) => finite(r.valLoss) !== null);
  if (!last) return '';
  return `: ${last.loss.toFixed(3)} at step ${last.step}${val ? `; validation ${val.valLoss!.toFixed(3)} at step ${val.step}` : ''}`;
}

const buildLr = (rows: readonly MetricRow[]): uPlot.AlignedData => [rows.map((r) => r.step), rows.map((r) => finite(r.lr))];
const buildGrad = (rows: readonly MetricRow[]): uPlot.AlignedData => [rows.map((r) => r.step), rows.map((r) => (r.skipped ? null : finite(r.gradNorm)))];

export function TrainCharts() {
  return (
    <div className="charts" data-testid="train-charts">
      <MetricChart
        id="loss"
        title="Loss (nats per answer token)"
        build={buildLoss}
        latest={latestLoss}
        series={[
          { label: 'loss', color: '#9db3ef', width: 1 },
          { label: 'smoothed', color: '#2d5be3', width: 2 },
          { label: 'validation', color: '#e3862d', points: true },
          { label: 'skipped', color: '#d9534f', points: true },
        ]}
      />
      <MetricChart id="lr" title="Learning rate" build={buildLr} series={[{ label: 'lr', color: '#3a9d5d' }]} />
      <MetricChart id="grad" title="Gradient norm (before clipping)" build={buildGrad} series={[{ label: 'grad norm', color: '#8e44ad' }]} />
    </div>
  );
}
