// Export and import of adapters: the active adapter (the run's, or one loaded here) as PEFT LoRA
// or the mor1e format, a merged model folder (LoRA), or one static LoRA per intuition cluster
// with its accuracy beside the dynamic adapter; each export downloads as one .zip. Loading an
// adapter (either format, a folder or its files) makes it the active adapter for evaluation,
// the playground and further training (init "loaded").
import { useState } from 'react';
import { zipSync } from 'fflate';
import { engineClient, loadAdapterFiles, unloadAdapter, useStore } from './store/index.ts';
import { message } from './store/store.ts';
import { fromFileList } from './files.ts';
import { Note } from './Note.tsx';
import { methodLabel } from './method.ts';
import type { AdapterMethod } from '../adapters/spec.ts';
import type { AdapterFile, ExportRequest } from '../worker/api.ts';

type Kind = ExportRequest['kind'];
const KINDS: Array<{ kind: Kind; label: string; what: string }> = [
  { kind: 'adapter', label: 'Adapter', what: 'PEFT LoRA for LoRA; the mor1e format (router, gates, intuition centroids) for T-REX, MoR1E, MoLoRA and SiRA' },
  { kind: 'merged', label: 'Merged model', what: 'a full Hugging Face model folder with the LoRA merged into the weights (LoRA only)' },
  { kind: 'per-cluster', label: 'Per cluster', what: 'one ordinary PEFT LoRA per intuition cluster (routing frozen at the cluster mean), servable by any LoRA engine, with report.json' },
];

/** Why an export kind does not apply to the active adapter's method, or null. */
function unavailable(kind: Kind, method: AdapterMethod | null): string | null {
  if (!method) return null;
  if (kind === 'merged' && method !== 'lora') return `only a LoRA merges into the weights; a ${methodLabel(method)} adapter routes each token its own way (export the adapter, or per-cluster LoRAs)`;
  if (kind === 'per-cluster' && method === 'lora') return 'a LoRA has no routing to freeze per cluster: export it as it is';
  return null;
}

interface ClusterRow {
  cluster: number;
  n: number;
  dynamic: number | null;
  static: number | null;
}

const pct = (x: number | null) => (x === null ? '—' : `${(100 * x).toFixed(0)}%`);

function download(name: string, files: AdapterFile[]): void {
  const zip = zipSync(Object.fromEntries(files.map((f) => [f.name, f.bytes])));
  const url = URL.createObjectURL(new Blob([zip as BlobPart], { type: 'application/zip' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function ExportPanel() {
  const info = useStore((s) => s.model.info);
  const run = useStore((s) => s.run.state);
  const runConfig = useStore((s) => s.run.config);
  const [busy, setBusy] = useState<Kind | 'load' | null>(null);
  // Export refusals show by the export buttons, load refusals by the file picker: each beside what caused it.
  const [error, setError] = useState<string | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [last, setLast] = useState<{ kind: Kind; files: AdapterFile[]; report: ClusterRow[] | null } | null>(null);
  // The loaded adapter lives in the store: it stays active (and described here) when the user moves between steps.
  const loaded = useStore((s) => s.run.loaded);
  const model = info?.source.replace(/\/$/, '').split('/').pop() ?? 'model';
  const method = run ? (runConfig?.method ?? null) : (loaded?.method ?? null);

  const exportKind = async (kind: Kind) => {
    setBusy(kind);
    setError(null);
    try {
      const files = await engineClient().api.exportAdapter({ kind });
      const rep = files.find((f) => f.name === 'report.json');
      const report = rep ? (JSON.parse(new TextDecoder().decode(rep.bytes)) as { clusters: ClusterRow[] }).clusters : null;
      setLast({ kind, files, report });
      download(`${model}-${kind}.zip`, files);
    } catch (e) {
      setError(message(e));
    } finally {
      setBusy(null);
    }
  };

  const load = async (list: FileList) => {
    setBusy('load');
    setLoadError(null);
    try {
      const files = await Promise.all(fromFileList(list).map(async (f) => ({ name: f.name, bytes: new Uint8Array(await f.blob.arrayBuffer()) })));
      await loadAdapterFiles(files);
    } catch (e) {
      setLoadError(message(e));
    } finally {
      setBusy(null);
    }
  };

  const unload = async () => {
    setLoadError(null);
    try {
      await unloadAdapter();
    } catch (e) {
      setLoadError(message(e));
    }
  };

  return (
    <section className="panel" data-testid="export-panel">
      <h2>Export</h2>
      <Note>
        Take the adapter out of the browser in formats others load, or bring one in. Loading an adapter makes it the one that evaluation, the playground
        and the routing view use; a new run or restoring a saved one replaces it.
      </Note>
      {!info && <p>Load a model first.</p>}
      <p data-testid="export-active">
        Active adapter:{' '}
        {run ? `the run's (${runConfig ? `${methodLabel(runConfig.method)}, ` : ''}${run.status} at step ${run.step})` : loaded ? `the loaded ${methodLabel(loaded.method)} adapter (below)` : 'none yet: train one (Train step) or load one below'}
      </p>
      <div className="export-kinds">
        {KINDS.map((k) => {
          const why = unavailable(k.kind, method);
          return (
            <div key={k.kind} className="export-kind">
              <button disabled={!info || busy !== null || why !== null} title={why ?? undefined} onClick={() => void exportKind(k.kind)} data-testid={`export-${k.kind}`}>
                {busy === k.kind ? 'Exporting…' : `${k.label} (.zip)`}
              </button>
              <span className="muted" data-testid={`export-${k.kind}-what`}> {why ? `Not for this adapter: ${why}.` : k.what}</span>
            </div>
          );
        })}
      </div>
      {error && (
        <p className="error-box" role="alert" data-testid="export-error">
          {error}
        </p>
      )}
      {last && (
        <div data-testid="export-files">
          <h3>Last export: {last.kind}</h3>
          <ul>
            {last.files.map((f) => (
              <li key={f.name}>
                {f.name} ({(f.bytes.byteLength / 1024).toFixed(1)} KiB)
              </li>
            ))}
          </ul>
          {last.report && (
            <table data-testid="cluster-report">
              <thead>
                <tr>
                  <th>cluster</th>
                  <th>validation rows</th>
                  <th>dynamic adapter</th>
                  <th>static LoRA</th>
                </tr>
              </thead>
              <tbody>
                {last.report.map((r) => (
                  <tr key={r.cluster}>
                    <td>{r.cluster}</td>
                    <td>{r.n}</td>
                    <td>{pct(r.dynamic)}</td>
                    <td>{pct(r.static)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      )}
      <h3>Load an adapter</h3>
      <p className="muted">A PEFT LoRA (adapter_config.json + adapter_model.safetensors) or the mor1e format (mor1e_config.json, adapter_model.safetensors, intuition.safetensors), as files or the .zip an export downloads, checked against the loaded model.</p>
      <label className="button">
        Choose adapter files
        <input type="file" hidden multiple disabled={!info || busy !== null} data-testid="adapter-files" onChange={(e) => e.target.files && void load(e.target.files)} />
      </label>
      {loadError && (
        <p className="error-box" role="alert" data-testid="adapter-load-error">
          {loadError}
        </p>
      )}
      {loaded && (
        <div data-testid="adapter-loaded">
          <p>
            Loaded {methodLabel(loaded.method)} ({loaded.format}): {loaded.layers} layers, {loaded.parameters.toLocaleString('en-US')} parameters
            {loaded.intuition ? `, intuition ${loaded.intuition.source}${loaded.intuition.k ? ` (k = ${loaded.intuition.k})` : ''}` : ''}.
          </p>
          {loaded.warnings.map((w) => (
            <p key={w} className="muted">
              {w}
            </p>
          ))}
          <button onClick={() => void unload()}>Unload</button>
        </div>
      )}
    </section>
  );
}
