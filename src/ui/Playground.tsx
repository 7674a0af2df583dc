// The playground: generate from the loaded model (greedy or sampled), streaming tokens.
import { generateText, useStore } from './store/index.ts';

export function Playground() {
  const info = useStore((s) => s.model.info);
  const p = useStore((s) => s.playground);
  const patch = useStore((s) => s.patchPlayground);
  if (!info) return null;
  return (
    <section className="panel" data-testid="playground">
      <h2>Playground</h2>
      <textarea data-testid="playground-prompt" rows={3} value={p.prompt} onChange={(e) => patch({ prompt: e.target.value })} />
      <div className="row">
        <label>
          <input type="checkbox" checked={p.useChat} onChange={(e) => patch({ useChat: e.target.checked })} /> {info.hasChatTemplate ? 'chat template' : 'instruction template'}
        </label>
        <label>Max tokens <input type="number" min={1} max={512} value={p.maxNewTokens} onChange={(e) => patch({ maxNewTokens: Math.max(1, Number(e.target.value) || 1) })} /></label>
        <label>Temperature <input type="number" min={0} max={2} step={0.1} value={p.temperature} onChange={(e) => patch({ temperature: Math.max(0, Number(e.target.value) || 0) })} /></label>
        <label>Top-p <input type="number" min={0.05} max={1} step={0.05} value={p.topP} onChange={(e) => patch({ topP: Math.min(1, Math.max(0.05, Number(e.target.value) || 1)) })} /></label>
        <button data-testid="playground-generate" disabled={p.generating || !p.prompt} onClick={() => void generateText()}>
          {p.generating ? 'Generating…' : 'Generate'}
        </button>
      </div>
      <pre className="output" data-testid="playground-output">{p.output}</pre>
      {p.error && <p className="error-box" role="alert" data-testid="playground-error">{p.error}</p>}
    </section>
  );
}
