// The prompt's intuition scores beside the playground's prompt: the prior s over the clusters that
// the gates read when generation runs through the adapter (worker promptIntuition, the same
// scoring as generate), as a row of small bars; the highest cluster is marked. Read a moment
// after typing stops, never while a run trains.
import { useEffect, useState } from 'react';
import { engineClient, hasAdapter as adapterOf, useStore } from './store/index.ts';
import { message } from './store/store.ts';
import type { PromptIntuition } from '../worker/api.ts';

/** The n largest scores' clusters, largest first (ties: lower index). */
export function topClusters(s: number[], n: number): number[] {
  return s.map((v, i) => [v, i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]).slice(0, n).map(([, i]) => i);
}

/**
 * A bar's extent in percent of the row's height (from its bottom): with negative scores in the
 * row the zero line is the middle, positive bars go up from it and negative ones down; else the
 * zero line is the bottom.
 */
export function barExtent(v: number, max: number, signed: boolean): { from: number; height: number; negative: boolean } {
  const span = signed ? 50 : 100;
  const h = max > 0 && Number.isFinite(v) ? span * Math.min(1, Math.abs(v) / max) : 0;
  const zero = signed ? 50 : 0;
  return { from: v < 0 ? zero - h : zero, height: h, negative: v < 0 };
}

export function PromptScores({ prompt }: { prompt: string }) {
  const hasAdapter = useStore((s) => adapterOf(s.run));
  const loaded = useStore((s) => s.run.loaded);
  const training = useStore((s) => s.run.state?.status === 'running');
  const runId = useStore((s) => s.run.state?.id ?? null);
  const intuitionK = useStore((s) => s.intuition.result?.k ?? null);
  const [got, setGot] = useState<{ prompt: string; r: PromptIntuition } | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (!hasAdapter || training || !prompt.trim()) return;
    let live = true;
    const timer = setTimeout(() => {
      engineClient()
        .api.promptIntuition(prompt)
        .then(
          (r) => {
            if (!live) return;
            setGot({ prompt, r });
            setError(null);
          },
          (e) => {
            if (live) setError(message(e));
          },
        );
    }, 350);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [prompt, hasAdapter, training, runId, loaded, intuitionK]);
  if (!hasAdapter) return null;
  if (error) return <p className="scores bad" data-testid="playground-scores-error">{error}</p>;
  if (!got) return <div className="scores" aria-hidden="true" />;
  const r = got.r;
  if (!r.ok) return <p className="scores" data-testid="playground-scores-none">{r.message}</p>;
  const max = Math.max(...r.s.map(Math.abs));
  const signed = r.s.some((v) => v < 0);
  const top = topClusters(r.s, 3);
  const summary = top.map((c) => `${c} (${r.s[c].toFixed(2)})`).join(', ');
  return (
    <figure className="scores" data-testid="playground-scores" data-k={r.k} data-top={top[0]} data-stale={got.prompt !== prompt || undefined}>
      <div className={`score-bars${signed ? ' signed' : ''}`} role="img" aria-label={`Intuition scores over ${r.k} clusters; highest: ${summary}`}>
        {r.s.map((v, i) => {
          const b = barExtent(v, max, signed);
          return (
            <div key={i} className={`score-bar${i === top[0] ? ' top' : ''}`} title={`cluster ${i}: ${v.toFixed(3)}`}>
              <span className={b.negative ? 'neg' : undefined} style={{ bottom: `${b.from}%`, height: `${b.height}%` }} />
            </div>
          );
        })}
      </div>
      <figcaption>
        Cluster scores (k = {r.k}, from the {r.source === 'model' ? 'base model' : r.source}); highest {summary}
      </figcaption>
    </figure>
  );
}
