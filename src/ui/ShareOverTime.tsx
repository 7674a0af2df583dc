// Each expert's share of tokens over the run (1.0 = a fair share) in one adapted layer, from the
// router statistics read while the Experts view was open (every ~2 s), drawn with uPlot.
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { RouterSample } from './store/runSlice.ts';

const hue = (i: number) => `hsl(${(i * 137.508) % 360} 65% 48%)`;

export function ShareOverTime({ history, layer, label }: { history: RouterSample[]; layer: number; label: string }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current!;
    const E = history[0]?.shares[layer]?.length ?? 0;
    const data: uPlot.AlignedData = [history.map((h) => h.step), ...Array.from({ length: E }, (_, e) => history.map((h) => h.shares[layer]?.[e] ?? null))];
    const u = new uPlot(
      {
        width: Math.max(240, el.clientWidth),
        height: 170,
        legend: { show: false },
        scales: { x: { time: false } },
        axes: [{ label: 'step', size: 34 }, { size: 40 }],
        series: [{ label: 'step' }, ...Array.from({ length: E }, (_, e): uPlot.Series => ({ label: `expert ${e}`, stroke: hue(e), width: 1.2, points: { show: history.length < 3 } }))],
      },
      data,
      el,
    );
    return () => u.destroy();
  }, [history, layer]);
  return (
    <figure className="chart">
      <figcaption>Share of tokens per expert over the run, {label} (1.0 = fair)</figcaption>
      <div ref={box} className="chart-box" data-testid="experts-over-time" data-samples={history.length} />
    </figure>
  );
}
