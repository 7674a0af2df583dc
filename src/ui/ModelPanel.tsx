// Choosing and loading a model: the bundled mor1e-tiny (loaded on first open), a Hugging Face id,
// a URL prefix, or a local folder (picker, multi-select or drag and drop), with per-file progress,
// the model's card, and errors that say what was wrong without dropping the model already loaded.
import { useState } from 'react';
import { BUNDLED_MODEL_URL, loadModel, useStore } from './store/index.ts';
import { fromDrop, fromFileList } from './files.ts';
import { ModelCard } from './ModelCard.tsx';
import { Note } from './Note.tsx';
import { StorageNote } from './StorageNote.tsx';
import type { ModelSource } from '../worker/api.ts';

type Tab = 'bundled' | 'hub' | 'url' | 'files';

const TAB_LABEL: Record<Tab, string> = { bundled: 'Bundled', hub: 'Hugging Face', url: 'URL', files: 'Local folder' };

const fmtBytes = (b: number) => (b >= 2 ** 20 ? `${(b / 2 ** 20).toFixed(1)} MiB` : `${(b / 1024).toFixed(1)} KiB`);

export function ModelPanel() {
  const gpuReady = useStore((s) => s.gpu.status === 'ready');
  const model = useStore((s) => s.model);
  const [tab, setTab] = useState<Tab>('bundled');
  const [repo, setRepo] = useState('HuggingFaceTB/SmolLM2-135M');
  const [revision, setRevision] = useState('main');
  const [hubUrl, setHubUrl] = useState('https://huggingface.co');
  const [url, setUrl] = useState('');
  const [dragging, setDragging] = useState(false);
  const busy = model.loading || !gpuReady;

  const load = (source: ModelSource) => void loadModel(source);

  return (
    <section className="panel" data-testid="model-panel">
      <h2>Model</h2>
      <Note>
        The base model that the adapter finetunes; its weights stay frozen. The bundled <code>mor1e-tiny</code> (2.2M parameters, no download) is
        loaded on first open; bring your own GPT-2 or Llama-family model from the hub, a URL or a folder.
      </Note>
      <div className="tabs" role="tablist">
        {(['bundled', 'hub', 'url', 'files'] as const).map((t) => (
          <button key={t} role="tab" aria-selected={tab === t} data-testid={`model-tab-${t}`} onClick={() => setTab(t)}>
            {TAB_LABEL[t]}
          </button>
        ))}
      </div>
      {tab === 'bundled' && (
        <div className="row">
          <span>
            <strong>mor1e-tiny</strong>: a 4-layer Llama-layout model pretrained by this project's recipe, served with the app from <code>{BUNDLED_MODEL_URL}</code>.
          </span>
          <button type="button" disabled={busy} data-testid="model-load-bundled" onClick={() => load({ kind: 'url', url: BUNDLED_MODEL_URL })}>
            Load mor1e-tiny
          </button>
        </div>
      )}
      {tab === 'hub' && (
        <form className="row" onSubmit={(e) => (e.preventDefault(), load({ kind: 'hub', repo: repo.trim(), revision: revision.trim() || 'main', hubUrl: hubUrl.trim() }))}>
          <label>Model id <input data-testid="hub-repo" value={repo} onChange={(e) => setRepo(e.target.value)} size={34} /></label>
          <label>Revision <input data-testid="hub-revision" value={revision} onChange={(e) => setRevision(e.target.value)} size={8} /></label>
          <label>Hub <input data-testid="hub-url" value={hubUrl} onChange={(e) => setHubUrl(e.target.value)} size={26} /></label>
          <button type="submit" disabled={busy} data-testid="model-load">Load</button>
        </form>
      )}
      {tab === 'url' && (
        <form className="row" onSubmit={(e) => (e.preventDefault(), load({ kind: 'url', url: url.trim() }))}>
          <label>Folder URL <input data-testid="model-url" value={url} onChange={(e) => setUrl(e.target.value)} placeholder="https://example.org/models/tiny/" size={50} /></label>
          <button type="submit" disabled={busy || !url.trim()} data-testid="model-load">Load</button>
        </form>
      )}
      {tab === 'files' && (
        <div
          className={`dropzone${dragging ? ' over' : ''}`}
          data-testid="model-dropzone"
          onDragOver={(e) => (e.preventDefault(), setDragging(true))}
          onDragLeave={() => setDragging(false)}
          onDrop={(e) => {
            e.preventDefault();
            setDragging(false);
            void fromDrop(e.dataTransfer).then((files) => load({ kind: 'files', files, label: 'the dropped folder' }));
          }}
        >
          <p>Drop a model folder here (config.json, *.safetensors, tokenizer.json, tokenizer_config.json), or</p>
          <label className="button">
            Choose a folder
            <input type="file" hidden disabled={busy} {...{ webkitdirectory: '' }} onChange={(e) => e.target.files && load({ kind: 'files', files: fromFileList(e.target.files), label: 'the chosen folder' })} />
          </label>{' '}
          <label className="button">
            Choose files
            <input type="file" hidden multiple disabled={busy} data-testid="model-files" onChange={(e) => e.target.files && load({ kind: 'files', files: fromFileList(e.target.files), label: 'the chosen files' })} />
          </label>
        </div>
      )}

      {Object.values(model.files).some((f) => f.message) && <StorageNote messages={Object.values(model.files).flatMap((f) => (f.message ? [f.message] : []))} />}
      {model.loading && (
        <div data-testid="model-progress" className="progress">
          {Object.values(model.files).map((f) => (
            <div key={f.file} data-testid="file-progress" data-status={f.status}>
              {f.file}: {f.status === 'missing' ? 'not present' : f.status === 'cached' ? `from cache (${fmtBytes(f.loaded)})` : f.status === 'uncached' ? 'not cached, reading from the network' : `${fmtBytes(f.loaded)}${f.total ? ` / ${fmtBytes(f.total)}` : ''}`}
            </div>
          ))}
          {model.upload && (
            <div>
              Uploading to the GPU: {model.upload.done} / {model.upload.total} tensors <progress max={model.upload.total} value={model.upload.done} />
            </div>
          )}
        </div>
      )}
      {model.error && (
        <p className="error-box" role="alert" data-testid="model-error">
          {model.error}
        </p>
      )}
      {model.info && <ModelCard info={model.info} />}
    </section>
  );
}
