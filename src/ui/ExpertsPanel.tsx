// Experts: which experts the router uses, per adapted layer, at the run's last step: a layers x
// experts heatmap of each expert's share of tokens (top-1) relative to a fair share (1.0 = 1/E;
// blue under-used, white fair, red over-used), for all tokens or one task, with the router's
// mean entropy and the load-balance term per layer, and one layer's shares over the run. Read
// every ~2 s while the run trains and this view is open. Below, one prompt's routing token by
// token (RoutingStrip.tsx).
import { useEffect, useRef, useState } from 'react';
import { noRouter, useStore, watchRouterStats } from './store/index.ts';
import { Note } from './Note.tsx';
import { isRouted, methodLabel } from './method.ts';
import { ShareOverTime } from './ShareOverTime.tsx';
import { RoutingPanel } from './RoutingStrip.tsx';
import type { RouterStats } from './store/runSlice.ts';
import type { RunState } from '../train/run.ts';

const fixed = (v: number | undefined, digits: number) => (v !== undefined && Number.isFinite(v) ? v.toFixed(digits) : '—');

const CELL_W = 16, CELL_H = 16, LABEL_W = 64, TOP = 18;

/** Diverging colour around the fair share: log2(share) in [-3, 3] from blue through white to red. */
function colour(u: number): string {
  const t = Math.max(-1, Math.min(1, (u > 0 ? Math.log2(u) : -3) / 3));
  const mix = (a: number, b: number, w: number) => Math.round(a + (b - a) * w);
  return t < 0 ? `rgb(${mix(255, 45, -t)},${mix(255, 91, -t)},${mix(255, 227, -t)})` : `rgb(${mix(255, 217, t)},${mix(255, 83, t)},${mix(255, 79, t)})`;
}

function Heatmap({ stats, group }: { stats: RouterStats; group: number }) {
  const ref = useRef<HTMLCanvasElement>(null);
  const [hover, setHover] = useState<string | null>(null);
  const E = Math.max(...stats.map((l) => l.E));
  const W = LABEL_W + E * CELL_W, H = TOP + stats.length * CELL_H;
  useEffect(() => {
    const cv = ref.current!;
    const dpr = window.devicePixelRatio || 1;
    cv.width = W * dpr;
    cv.height = H * dpr;
    const g = cv.getContext('2d')!;
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, W, H);
    g.font = '11px system-ui, sans-serif';
    g.fillStyle = '#5b6475';
    g.textBaseline = 'middle';
    for (let e = 0; e < E; e += E > 16 ? 4 : 1) g.fillText(String(e), LABEL_W + e * CELL_W + 2, TOP / 2);
    stats.forEach((l, row) => {
      const grp = l.groups[group];
      g.fillStyle = '#1d2330';
      g.fillText(l.key, 2, TOP + row * CELL_H + CELL_H / 2);
      for (let e = 0; e < l.E; e++) {
        g.fillStyle = grp && grp.tokens > 0 ? colour(grp.f[e] * l.E) : '#eceef2';
        g.fillRect(LABEL_W + e * CELL_W, TOP + row * CELL_H, CELL_W - 1, CELL_H - 1);
      }
    });
  }, [stats, group, E, W, H]);
  const onMove = (ev: React.MouseEvent<HTMLCanvasElement>) => {
    const r = ev.currentTarget.getBoundingClientRect();
    const e = Math.floor((ev.clientX - r.left - LABEL_W) / CELL_W), row = Math.floor((ev.clientY - r.top - TOP) / CELL_H);
    const l = stats[row];
    const grp = l?.groups[group];
    if (!l || !grp || e < 0 || e >= l.E) return setHover(null);
    setHover(`${l.key}, expert ${e}: ${fixed(grp.f[e] * l.E, 2)}x a fair share of tokens (top-1 ${fixed(100 * grp.f[e], 1)}%), mean probability ${fixed(grp.P[e], 3)}, routing weight ${fixed(grp.G[e], 3)}`);
  };
  return (
    <div className="heatmap">
      <canvas
        ref={ref}
        data-testid="experts-heatmap"
        style={{ width: W, height: H }}
        role="img"
        aria-label={`Expert utilisation: ${stats.length} adapted layers by ${E} experts`}
        onMouseMove={onMove}
        onMouseLeave={() => setHover(null)}
      />
      <p className="hover-line" aria-live="polite">{hover ?? 'Hover a cell for its numbers.'}</p>
      <div className="legend-scale" aria-hidden="true">
        <span style={{ background: colour(0) }}>0</span>
        <span style={{ background: colour(0.5) }}>0.5</span>
        <span style={{ background: colour(1) }}>1 fair</span>
        <span style={{ background: colour(2) }}>2</span>
        <span style={{ background: colour(8) }}>≥8</span>
      </div>
    </div>
  );
}

/** Why a run shows no router statistics (yet). */
function noStatistics(st: RunState, routerless: boolean, readAt: number): string {
  if (routerless) return 'This run’s method (LoRA) has no router, so there are no experts to show.';
  if (st.step === 0) return 'The statistics appear after the first step.';
  // Read at this step and empty: a restored run (its trainer has run no step yet).
  if (st.status === 'running' || readAt !== st.step) return 'Reading the router statistics (after the step in progress)…';
  return st.status === 'paused'
    ? 'No router statistics yet: a restored run keeps its curves, and its experts show again after its next step (Resume). Route a prompt below meanwhile.'
    : 'No router statistics: a restored run keeps its curves, not its last router readings. Route a prompt below to see its experts at work.';
}

export function ExpertsPanel() {
  const stats = useStore((s) => s.run.routerStats);
  const st = useStore((s) => s.run.state);
  const loaded = useStore((s) => s.run.loaded);
  const step = useStore((s) => s.run.routerStatsStep);
  const routerless = useStore((s) => noRouter(s.run));
  const history = useStore((s) => s.run.routerHistory);
  const [layer, setLayer] = useState(0);
  const tasks = useStore((s) => s.data.result?.tasks);
  const [group, setGroup] = useState(0);
  useEffect(() => watchRouterStats(2000), []);
  // Group 0 is every token; group t + 1 is task t, in the dataset's order of first appearance.
  const taskNames = tasks ? Object.keys(tasks) : [];
  const groups = stats ? Math.min(...stats.map((l) => l.groups.length)) : 0;
  const g = group < groups ? group : 0;
  return (
    <section className="panel" data-testid="experts-panel">
      <h2>Experts</h2>
      <Note>
        How the router spreads tokens over the experts in each adapted layer, at the last training step. 1.0 means an expert gets its fair share (1/E) of the
        tokens; blue experts are under-used, red ones over-used. Pick a task to see whether tasks use different experts. The table gives each layer&rsquo;s
        mean router entropy (higher: more spread) and the load-balance term E·Σ f·P (f: each expert&rsquo;s share of the tokens it is top for, as the colours
        show; P: its mean router probability). That term is 1.0 when balanced, but also whenever the router&rsquo;s probabilities are still even, as at the
        start of a run, however uneven the colours; the chart below follows one layer&rsquo;s experts over the run.
      </Note>
      {!st ? (
        <p className="muted" data-testid="experts-empty">
          {!loaded
            ? 'Start a run (Train step) to see the experts at work.'
            : isRouted(loaded.method)
              ? `The loaded ${methodLabel(loaded.method)} adapter carries no training statistics: route a prompt below to see its experts at work, or start a run (Train step).`
              : 'The loaded adapter (LoRA) has no router, so there are no experts to show.'}
        </p>
      ) : !stats ? (
        <p className="muted" data-testid="experts-empty">
          {noStatistics(st, routerless, step)}
        </p>
      ) : (
        <>
          <div className="row">
            <label>
              Tokens of{' '}
              <select data-testid="experts-task" value={g} onChange={(e) => setGroup(Number(e.target.value))}>
                <option value={0}>every task</option>
                {taskNames.map((t, i) => (
                  <option key={t} value={i + 1} disabled={i + 1 >= groups}>{t}</option>
                ))}
              </select>
            </label>
            <span className="muted" data-testid="experts-step">step {step}{st.status === 'running' ? ' (live)' : ''}</span>
          </div>
          {stats[0].groups[g]?.tokens === 0 && <p className="warn">The last step had no tokens of this task.</p>}
          <div className="experts-layout">
            <Heatmap stats={stats} group={g} />
            <table className="layer-stats" data-testid="experts-layers">
              <thead>
                <tr><th>layer</th><th>entropy</th><th>balance</th><th>tokens</th></tr>
              </thead>
              <tbody>
                {stats.map((l) => (
                  <tr key={l.key}>
                    <td>{l.key}</td>
                    <td className="num">{fixed(l.groups[g]?.entropy, 2)}</td>
                    <td className="num">{fixed(l.balance, 3)}</td>
                    <td className="num">{l.groups[g]?.tokens ?? 0}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <div className="row">
            <label>
              Layer{' '}
              <select data-testid="experts-layer" value={layer < stats.length ? layer : 0} onChange={(e) => setLayer(Number(e.target.value))}>
                {stats.map((l, i) => <option key={l.key} value={i}>{l.key}</option>)}
              </select>
            </label>
            <span className="muted">{history.length} reading{history.length === 1 ? '' : 's'} (every ~2 s while this view is open)</span>
          </div>
          {history.length > 0 && <ShareOverTime history={history} layer={layer < stats.length ? layer : 0} label={`layer ${stats[layer < stats.length ? layer : 0].key}, all tokens`} />}
        </>
      )}
      <RoutingPanel />
    </section>
  );
}
