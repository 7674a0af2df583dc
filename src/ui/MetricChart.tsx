// One live uPlot chart of the run's metric rows. It subscribes to the rows outside React
// (store/metrics.ts) and redraws at most once per animation frame, so a run's step rate never
// re-renders a component; uPlot stays smooth at tens of thousands of points. Drag to zoom along
// the steps, double-click to zoom out; a zoomed chart keeps its range while rows arrive.
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { metricRows, subscribeMetrics } from './store/metrics.ts';
import type { MetricRow } from '../train/run.ts';

export interface ChartSeries {
  label: string;
  color: string;
  /** Points only (no line): validation loss, skipped steps. */
  points?: boolean;
  dash?: number[];
  width?: number;
}

export function MetricChart({ id, title, series, build, latest, log }: {
  id: string; title: string; series: ChartSeries[]; build(rows: readonly MetricRow[]): uPlot.AlignedData;
  /** The latest values in words beside the title (the legend shows numbers only under the cursor). */
  latest?(rows: readonly MetricRow[]): string;
  log?: boolean;
}) {
  const box = useRef<HTMLDivElement>(null);
  const now = useRef<HTMLSpanElement>(null);
  useEffect(() => {
    const el = box.current!;
    const caption = () => {
      if (latest && now.current) now.current.textContent = latest(metricRows());
    };
    let zoomed = false;
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height: 180,
      legend: { show: true, live: true },
      cursor: { drag: { x: true, y: false } },
      scales: { x: { time: false }, y: log ? { distr: 3 } : {} },
      // Whole steps on x; small values (learning rates) in exponent form so ticks stay distinct.
      axes: [
        { label: 'step', size: 36, incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000] },
        { size: 56, values: (_u, splits) => splits.map((v) => (v !== 0 && Math.abs(v) < 0.01 ? v.toExponential(1) : String(+v.toPrecision(3)))) },
      ],
      series: [
        { label: 'step' },
        ...series.map((s): uPlot.Series => ({
          label: s.label,
          stroke: s.color,
          width: s.width ?? 1.5,
          dash: s.dash,
          spanGaps: !s.points,
          // Lines draw no points, but a lone first step would draw nothing at all: then it is a dot.
          ...(s.points ? { paths: () => null, points: { show: true, size: 7, stroke: s.color, fill: s.color } } : { points: { show: (u) => u.data[0].length === 1, size: 6, stroke: s.color, fill: s.color } }),
        })),
      ],
      hooks: { setSelect: [() => (zoomed = true)] },
    };
    const u = new uPlot(opts, build(metricRows()), el);
    const unzoom = () => (zoomed = false);
    u.over.addEventListener('dblclick', unzoom);
    let frame = 0;
    const draw = () => {
      frame = 0;
      const rows = metricRows();
      u.setData(build(rows), !zoomed);
      el.dataset.points = String(rows.length);
      caption();
    };
    el.dataset.points = String(metricRows().length);
    caption();
    const unsub = subscribeMetrics(() => {
      frame ||= requestAnimationFrame(draw);
    });
    const ro = new ResizeObserver(() => u.setSize({ width: Math.max(200, el.clientWidth), height: 180 }));
    ro.observe(el);
    return () => {
      unsub();
      ro.disconnect();
      cancelAnimationFrame(frame);
      u.over.removeEventListener('dblclick', unzoom);
      u.destroy();
    };
    // The chart is built once per mount; series and builders are constants of the caller.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);
  return (
    <figure className="chart">
      <figcaption>
        {title}
        {latest && <span ref={now} className="chart-latest" data-testid={`chart-${id}-latest`} />}
      </figcaption>
      <div ref={box} className="chart-box" data-testid={`chart-${id}`} />
    </figure>
  );
}
