// One prompt's routing, token by token: the prompt (a validation row by default) runs through the
// model with the adapter in the worker, which reads back each adapted layer's per-token routing
// from the adapter kernels (worker routing()); a canvas strip shows, for the chosen layer, every
// token (a row, its text as the label) by every expert (a column). Hover or move with the arrow
// keys for a cell's numbers. Methods without a router (LoRA) are explained instead.
import { useEffect, useRef, useState, type KeyboardEvent, type MouseEvent } from 'react';
import { engineClient, hasAdapter, noRouter, useStore } from './store/index.ts';
import { useFirstPrompt } from './useFirstPrompt.ts';
import { message } from './store/store.ts';
import type { RoutingResult } from '../worker/api.ts';

export const STRIP = { cellW: 14, cellH: 16, labelW: 110, top: 18 } as const;

export type StripValue = 'g' | 'p';

/** Canvas size (CSS pixels) of a strip of T tokens by E experts. */
export function stripSize(T: number, E: number): { width: number; height: number } {
  return { width: STRIP.labelW + E * STRIP.cellW, height: STRIP.top + T * STRIP.cellH };
}

/** The (token, expert) cell under a point of the canvas, or null outside the cells. */
export function cellAt(x: number, y: number, T: number, E: number): { token: number; expert: number } | null {
  const expert = Math.floor((x - STRIP.labelW) / STRIP.cellW), token = Math.floor((y - STRIP.top) / STRIP.cellH);
  return x >= STRIP.labelW && y >= STRIP.top && expert < E && token < T ? { token, expert } : null;
}

/** White at 0, to red at +max and blue at −max (the T-REX weights may be negative through the intuition term). */
export function stripColour(v: number, max: number): string {
  if (!Number.isFinite(v)) return '#c9ced8';
  const t = max > 0 ? Math.max(-1, Math.min(1, v / max)) : 0;
  const mix = (a: number, b: number, w: number) => Math.round(a + (b - a) * w);
  return t < 0 ? `rgb(${mix(255, 45, -t)},${mix(255, 91, -t)},${mix(255, 227, -t)})` : `rgb(${mix(255, 200, t)},${mix(255, 40, t)},${mix(255, 40, t)})`;
}

/** Largest |value| of a layer's (T, E) array: the colour scale's end. */
export function scaleOf(values: Float32Array): number {
  let m = 0;
  for (const v of values) if (Number.isFinite(v)) m = Math.max(m, Math.abs(v));
  return m;
}

/** The n experts with the largest values in token t's row, largest first (ties: lower index). */
export function topExperts(values: Float32Array, t: number, E: number, n: number): number[] {
  const row = Array.from(values.subarray(t * E, (t + 1) * E), (v, e) => [v, e] as const);
  row.sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  return row.slice(0, n).map(([, e]) => e);
}

/** A token's text made visible for a label: spaces as ·, newlines as ⏎, tabs as →, cut to `max` characters. */
export function tokenLabel(text: string, max = 14): string {
  const v = text.replace(/ /g, '·').replace(/\n/g, '⏎').replace(/\t/g, '→') || '∅';
  return v.length > max ? `${v.slice(0, max - 1)}…` : v;
}

const fixed = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : '—');

function Strip({ result, layer, value }: { result: RoutingResult; layer: number; value: StripValue }) {
  const ref = useRef<HTMLCanvasElement>(null);
  const [cell, setCell] = useState<{ token: number; expert: number } | null>(null);
  const L = result.layers[layer];
  const T = result.tokens.length, E = result.E;
  const values = value === 'g' ? L.g : L.p;
  const max = value === 'p' ? Math.max(1e-9, scaleOf(values)) : scaleOf(values);
  const { width, height } = stripSize(T, E);
  useEffect(() => {
    const cv = ref.current!;
    const dpr = window.devicePixelRatio || 1;
    cv.width = width * dpr;
    cv.height = height * dpr;
    const g = cv.getContext('2d')!;
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, width, height);
    g.font = '11px ui-monospace, monospace';
    g.textBaseline = 'middle';
    g.fillStyle = '#5b6475';
    for (let e = 0; e < E; e += E > 16 ? 4 : 1) g.fillText(String(e), STRIP.labelW + e * STRIP.cellW + 1, STRIP.top / 2);
    for (let t = 0; t < T; t++) {
      const y = STRIP.top + t * STRIP.cellH;
      g.fillStyle = '#1d2330';
      g.fillText(tokenLabel(result.tokens[t].text), 2, y + STRIP.cellH / 2, STRIP.labelW - 6);
      for (let e = 0; e < E; e++) {
        g.fillStyle = stripColour(values[t * E + e], max);
        g.fillRect(STRIP.labelW + e * STRIP.cellW, y, STRIP.cellW - 1, STRIP.cellH - 1);
      }
    }
    if (cell) {
      g.strokeStyle = '#1d2330';
      g.lineWidth = 2;
      g.strokeRect(STRIP.labelW + cell.expert * STRIP.cellW, STRIP.top + cell.token * STRIP.cellH, STRIP.cellW - 1, STRIP.cellH - 1);
    }
  }, [result, values, max, T, E, width, height, cell]);
  const onMove = (ev: MouseEvent<HTMLCanvasElement>) => {
    const r = ev.currentTarget.getBoundingClientRect();
    setCell(cellAt(ev.clientX - r.left, ev.clientY - r.top, T, E));
  };
  const onKey = (ev: KeyboardEvent<HTMLCanvasElement>) => {
    const c = cell ?? { token: 0, expert: 0 };
    const move: Record<string, [number, number]> = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1], Home: [-T, 0], End: [T, 0] };
    const m = move[ev.key];
    if (!m) return;
    ev.preventDefault();
    setCell(cell ? { token: Math.max(0, Math.min(T - 1, c.token + m[0])), expert: Math.max(0, Math.min(E - 1, c.expert + m[1])) } : c);
  };
  const c = cell;
  const line = c
    ? `token ${c.token + 1} "${result.tokens[c.token].text}", expert ${c.expert}: routing weight ${fixed(L.g[c.token * E + c.expert])}, router probability ${fixed(L.p[c.token * E + c.expert])}; ` +
      `its top experts ${topExperts(values, c.token, E, 3).join(', ')}`
    : 'Hover a cell, or focus the strip and use the arrow keys, for its numbers.';
  return (
    <div className="routing-strip">
      <div className="strip-scroll">
        <canvas
          ref={ref}
          tabIndex={0}
          data-testid="routing-strip"
          data-tokens={T}
          data-experts={E}
          data-layer={L.key}
          style={{ width, height }}
          role="img"
          aria-label={`Routing at layer ${L.key}: ${T} tokens by ${E} experts. Use the arrow keys to read a cell.`}
          onMouseMove={onMove}
          onKeyDown={onKey}
          onFocus={() => setCell((x) => x ?? { token: 0, expert: 0 })}
        />
      </div>
      <p className="hover-line" aria-live="polite" data-testid="routing-cell">{line}</p>
      <div className="legend-scale" aria-hidden="true">
        {value === 'g' && <span style={{ background: stripColour(-max, max) }}>{(-max).toFixed(2)}</span>}
        <span style={{ background: stripColour(0, max) }}>0</span>
        <span style={{ background: stripColour(max / 2, max) }}>{(max / 2).toFixed(2)}</span>
        <span style={{ background: stripColour(max, max), color: '#fff' }}>{max.toFixed(2)}</span>
      </div>
    </div>
  );
}


export function RoutingPanel() {
  const info = useStore((s) => s.model.info);
  const st = useStore((s) => s.run.state);
  const adapter = useStore((s) => hasAdapter(s.run));
  const routerless = useStore((s) => noRouter(s.run));
  const training = st?.status === 'running';
  const [prompt, setPrompt] = useState<string | null>(null);
  const [template, setTemplate] = useState(true);
  const [result, setResult] = useState<RoutingResult | null>(null);
  const [layer, setLayer] = useState(0);
  const [value, setValue] = useState<StripValue>('g');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  useFirstPrompt(prompt === null, (p) => setPrompt((cur) => cur ?? p));
  const route = async () => {
    setBusy(true);
    setError(null);
    try {
      const r = await engineClient().api.routing({ prompt: prompt ?? '', template });
      setResult(r);
      setLayer((l) => (l < r.layers.length ? l : 0));
    } catch (e) {
      setError(message(e));
    } finally {
      setBusy(false);
    }
  };
  const text = prompt ?? '';
  return (
    <section className="routing" data-testid="routing-panel" aria-labelledby="routing-title">
      <h3 id="routing-title">One prompt, token by token</h3>
      <p className="note">
        The routing weights each token of one prompt gives the experts at one adapted layer, read back from the adapter kernels on the GPU. Rows are the
        prompt&rsquo;s tokens, columns the experts; red is a large weight, blue a negative one (the intuition term can push a weight below zero).
      </p>
      {routerless && !result && <p className="muted" data-testid="routing-no-router">The run&rsquo;s method (LoRA) has no router: every token goes through the same low-rank update, so there is no routing to show.</p>}
      <label className="block-label" htmlFor="routing-prompt">Prompt</label>
      <textarea id="routing-prompt" data-testid="routing-prompt" rows={2} value={text} onChange={(e) => setPrompt(e.target.value)} placeholder="A prompt to route (a validation row by default)" />
      <div className="row">
        <label>
          <input type="checkbox" data-testid="routing-template" checked={template} onChange={(e) => setTemplate(e.target.checked)} /> {info?.hasChatTemplate ? 'chat template' : 'instruction template'} (as the rows were trained)
        </label>
        <button type="button" data-testid="routing-run" disabled={!info || !text.trim() || busy || training} onClick={() => void route()}>
          {busy ? 'Routing…' : 'Route this prompt'}
        </button>
        {result && result.layers.length > 0 && (
          <>
            <label>
              Layer{' '}
              <select data-testid="routing-layer" value={layer} onChange={(e) => setLayer(Number(e.target.value))}>
                {result.layers.map((l, i) => <option key={l.key} value={i}>{l.key}</option>)}
              </select>
            </label>
            <label>
              Show{' '}
              <select data-testid="routing-value" value={value} onChange={(e) => setValue(e.target.value as StripValue)}>
                <option value="g">routing weight (what mixes the experts)</option>
                <option value="p">router probability (softmax)</option>
              </select>
            </label>
          </>
        )}
      </div>
      {training && <p className="muted">Routing a prompt waits while the run trains: pause it or let it finish.</p>}
      {!adapter && <p className="muted" data-testid="routing-needs-adapter">Needs an adapter: train one (Train step) or load one (Export step).</p>}
      {error && <p className="error-box" role="alert" data-testid="routing-error">{error}</p>}
      {result && result.E === 0 && (
        <p className="muted" data-testid="routing-no-router">This adapter ({result.method === 'lora' ? 'LoRA' : result.method}) has no router: every token goes through the same low-rank update, so there is no routing to show.</p>
      )}
      {result && result.layers.length > 0 && (
        <>
          <p className="muted" data-testid="routing-summary">
            {result.tokens.length} tokens{result.dropped ? ` (the last ${result.dropped} left out)` : ''}, {result.E} experts per layer;{' '}
            {result.sSource === 'intuition' ? 'intuition scores from the clusters' : result.sSource === 'zeros' ? 'no intuition: the gates read zero scores (the router alone)' : result.sSource === 'given' ? 'the given intuition scores' : 'no intuition gate'}.
          </p>
          <Strip result={result} layer={Math.min(layer, result.layers.length - 1)} value={value} />
        </>
      )}
    </section>
  );
}
