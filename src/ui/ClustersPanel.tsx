// Clusters: the intuition's view of the training prompts. Each prompt's embedding projected to 2-D
// (PCA, or UMAP animated frame by frame), coloured by its k-means cluster or by its task, with the
// centroids marked and the prompt shown on hover; cluster sizes, purity and NMI against the tasks.
import { useEffect, useRef, useState } from 'react';
import { computeIntuition, useStore } from './store/index.ts';
import { Note } from './Note.tsx';

const SIZE = 440, PAD = 12;
const hue = (i: number) => `hsl(${(i * 137.508) % 360} 65% 48%)`;

/**
 * The map: the finished projection, or the newest UMAP frame while it runs (grey until the
 * clusters arrive with the result; a recomputation clears the old result first).
 */
function ClusterMapCanvas({ colourBy }: { colourBy: 'cluster' | 'task' }) {
  const it = useStore((s) => s.intuition);
  const ref = useRef<HTMLCanvasElement>(null);
  const [hover, setHover] = useState<string | null>(null);
  const r = it.result;
  const map = it.frame && (!r || it.frame.points.length === r.projection.points.length) ? it.frame : r!.projection;
  const n = map.points.length / 2;
  const colourOf = (i: number): string => {
    if (!r) return '#8d94a3';
    return hue(colourBy === 'task' && it.pointTasks ? it.pointTasks[i] : r.projection.clusters[i]);
  };
  // Scale both axes alike so distances on the map are not distorted.
  let lo = Infinity, hi = -Infinity;
  for (const v of map.points) {
    if (!Number.isFinite(v)) continue;
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const span = hi > lo ? hi - lo : 1;
  const px = (v: number) => PAD + ((v - lo) / span) * (SIZE - 2 * PAD);
  useEffect(() => {
    const cv = ref.current!;
    const dpr = window.devicePixelRatio || 1;
    cv.width = SIZE * dpr;
    cv.height = SIZE * dpr;
    const g = cv.getContext('2d')!;
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, SIZE, SIZE);
    g.globalAlpha = 0.75;
    for (let i = 0; i < n; i++) {
      g.fillStyle = colourOf(i);
      g.fillRect(px(map.points[2 * i]) - 2, SIZE - px(map.points[2 * i + 1]) - 2, 4, 4);
    }
    g.globalAlpha = 1;
    g.strokeStyle = '#1d2330';
    g.lineWidth = 2;
    for (let k = 0; k < map.centroids.length / 2; k++) {
      const x = px(map.centroids[2 * k]), y = SIZE - px(map.centroids[2 * k + 1]);
      g.beginPath();
      g.moveTo(x - 5, y - 5);
      g.lineTo(x + 5, y + 5);
      g.moveTo(x + 5, y - 5);
      g.lineTo(x - 5, y + 5);
      g.stroke();
    }
  });
  const onMove = (ev: React.MouseEvent<HTMLCanvasElement>) => {
    if (!r) return;
    const b = ev.currentTarget.getBoundingClientRect();
    const mx = ev.clientX - b.left, my = ev.clientY - b.top;
    let best = -1, bd = 64;
    for (let i = 0; i < n; i++) {
      const d = (px(map.points[2 * i]) - mx) ** 2 + (SIZE - px(map.points[2 * i + 1]) - my) ** 2;
      if (d < bd) {
        bd = d;
        best = i;
      }
    }
    if (best < 0) return setHover(null);
    const task = it.pointTasks ? it.taskNames[it.pointTasks[best]] : '?';
    setHover(`cluster ${r.projection.clusters[best]}, task ${task}: ${it.pointTexts[best] ?? ''}`);
  };
  return (
    <div className="cluster-map">
      <canvas
        ref={ref}
        data-testid="clusters-map"
        data-points={n}
        data-final={r ? 'yes' : 'no'}
        style={{ width: SIZE, height: SIZE }}
        role="img"
        aria-label={`${n} training prompts on a ${map.method.toUpperCase()} map${r ? `, coloured by ${colourBy}` : ' (UMAP running)'}`}
        onMouseMove={onMove}
        onMouseLeave={() => setHover(null)}
      />
      <p className="hover-line" data-testid="clusters-hover" aria-live="polite">{hover ?? (r ? 'Hover a point to read its prompt.' : 'UMAP is arranging the points…')}</p>
      {r && colourBy === 'task' && (
        <ul className="legend">
          {it.taskNames.map((t, i) => (
            <li key={t}><span className="swatch" style={{ background: hue(i) }} />{t}</li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function ClustersPanel() {
  const it = useStore((s) => s.intuition);
  const tokenized = useStore((s) => !!s.data.result?.tokenized);
  const starting = useStore((s) => s.run.starting);
  const [colourBy, setColourBy] = useState<'cluster' | 'task'>('task');
  const [projection, setProjection] = useState<'pca' | 'umap'>('pca');
  const r = it.result;
  const busy = it.computing || starting;
  const maxSize = r ? Math.max(1, ...r.sizes) : 1;
  return (
    <section className="panel" data-testid="clusters-panel">
      <h2>Clusters</h2>
      <Note>
        The intuition: every training prompt is embedded (by the base model, an encoder, or supplied vectors) and clustered with k-means on the GPU; each
        row&rsquo;s similarity to the centroids guides the experts&rsquo; gates. The map projects the embeddings to 2-D. Purity and NMI say how well the
        clusters follow the task labels (1.0: exactly).
      </Note>
      <div className="row">
        <button type="button" data-testid="clusters-compute" disabled={!tokenized || busy} onClick={() => void computeIntuition(projection)}>
          {r ? 'Compute again' : 'Compute the clusters'}
        </button>
        <label>
          Map <select value={projection} onChange={(e) => setProjection(e.target.value as 'pca' | 'umap')}><option value="pca">PCA</option><option value="umap">UMAP (animated)</option></select>
        </label>
        <span className="muted">uses the Method step&rsquo;s source, cluster count and seed; a run computes it again before its first step</span>
      </div>
      {it.progress && (
        <p data-testid="clusters-progress">
          {it.progress.phase === 'embed' ? 'Embedding the prompts' : it.progress.phase === 'cluster' ? 'Clustering' : 'Mapping'}: {it.progress.done.toLocaleString('en-US')} / {it.progress.total.toLocaleString('en-US')}{' '}
          <progress max={it.progress.total} value={it.progress.done} />
        </p>
      )}
      {it.error && <p className="error-box" role="alert" data-testid="clusters-error">{it.error}</p>}
      {!r && it.frame && <ClusterMapCanvas colourBy={colourBy} />}
      {!r ? (
        !it.frame && <p className="muted" data-testid="clusters-empty">{tokenized ? 'Not computed yet: compute it here, or start a run with an intuition.' : 'Needs a tokenized dataset (a model and data).'}</p>
      ) : (
        <div className="clusters-layout">
          <div>
            <div className="row">
              <label>
                Colour by{' '}
                <select data-testid="clusters-colour" value={colourBy} onChange={(e) => setColourBy(e.target.value as 'cluster' | 'task')}>
                  <option value="task">task</option>
                  <option value="cluster">cluster</option>
                </select>
              </label>
            </div>
            <ClusterMapCanvas colourBy={colourBy} />
          </div>
          <div>
            <dl className="info" data-testid="clusters-stats">
              <dt>Source</dt>
              <dd>{r.source === 'model' ? `the base model, after block ${r.layer}` : r.source === 'encoder' ? `encoder ${r.encoder}` : 'supplied vectors'} ({r.dim} dimensions)</dd>
              <dt>Clusters</dt>
              <dd>{r.k}, after {r.iterations} iterations</dd>
              <dt>Purity</dt>
              <dd data-testid="clusters-purity">{r.purity !== undefined ? r.purity.toFixed(3) : '— (one task)'}</dd>
              <dt>NMI</dt>
              <dd data-testid="clusters-nmi">{r.nmi !== undefined ? r.nmi.toFixed(3) : '—'}</dd>
            </dl>
            <table className="tasks" data-testid="clusters-sizes">
              <caption>Rows per cluster</caption>
              <tbody>
                {r.sizes.map((n, k) => (
                  <tr key={k}>
                    <td><span className="swatch" style={{ background: hue(k) }} />{k}</td>
                    <td className="num">{n}</td>
                    <td className="bar-cell"><span className="bar" style={{ width: `${(100 * n) / maxSize}%` }} /></td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </div>
      )}
    </section>
  );
}
